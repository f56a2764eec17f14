"""A batch's events a sink has already applied, answered with one read per link.

A replay, or a new link's backfill over a company already in the target, brings events the
sink applied before. One at a time, each costs reads of its links, of its
cross-references and of its pending create before the upsert answers ``unchanged``
(:mod:`services.runtime.upsert`). Batched (:mod:`services.runtime.keyed_batches`), the
sink's subscriber first screens the whole batch here: the links of each connection read
once, every cross-reference of the batch's records read once per link (with what the upsert
keeps of a snapshot that needed no record), and the events
those show applied on every link they go to answered ``unchanged`` at once, with the outcome
the upsert would have published. The rest go through the sink as before.

Why this is safe without the records' leases: the revisions a record's cross-references
say were applied only ever grow, so an event they show applied stays applied whatever a
writer is doing (the upsert's own look before its lease rests on the same fact). One
record's events are screened in their order and the screen stops at the first it cannot
answer, so a record's outcomes keep their order too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, TypeVar

from schemas.snapshot import Snapshot
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import CrossReference, LinkRecord
from services.runtime.upsert import SETTLED_WITHOUT_RECORD, already_applied

__all__ = ["AppliedScreenSink", "screen_applied"]

S = TypeVar("S", bound=Snapshot)
S_contra = TypeVar("S_contra", bound=Snapshot, contravariant=True)


class AppliedScreenSink(Protocol[S_contra]):
    """What the screen asks of a sink built on the kit's idempotent upsert."""

    @property
    def reference_kinds(self) -> Sequence[str]:
        """The cross-reference kinds a record can have (as its upsert target's)."""

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        """The enabled links the sink writes a source connection's events to."""

    def accepts(self, event: S_contra, link: LinkRecord) -> bool:
        """Whether the sink's subscriber hands ``event`` to ``link``."""

    def fingerprint(self, event: S_contra, link: LinkRecord) -> str | None:
        """What ``event`` says for ``link``, as the upsert target fingerprints it (None: the
        sink must look itself, e.g. the link's options do not map it)."""


async def screen_applied(
    events: Sequence[S], sink: AppliedScreenSink[S], *, store: StateStore, outcomes: Outcomes
) -> set[int]:
    """The positions of ``events`` answered here (``unchanged`` on every link they go to,
    their outcomes published); the others are the sink's to apply, one by one."""
    links: dict[str, list[LinkRecord]] = {}
    for connection_id in dict.fromkeys(event.connection_id for event in events):
        links[connection_id] = await sink.links_from(connection_id)
    targets = [
        [link for link in links[event.connection_id] if sink.accepts(event, link)]
        for event in events
    ]
    known, settled = await _known(events, targets, sink.reference_kinds, store)

    answered: set[int] = set()
    answers: list[tuple[Snapshot, LinkRecord, WriteResult]] = []
    stopped: set[str] = set()  # records with an event the sink must apply: keep their order
    for position, event in enumerate(events):
        if event.entity_key in stopped:
            continue
        results = [
            (link, _answer(event, sink.fingerprint(event, link), link, known, settled))
            for link in targets[position]
        ]
        if any(result is None for _, result in results):
            stopped.add(event.entity_key)
            continue
        answered.add(position)
        answers.extend((event, link, result) for link, result in results if result is not None)
    # Sent together: Kafka takes them in one round trip, in this order per partition.
    await asyncio.gather(
        *(outcomes.publish(event, link, event.entity_key, done) for event, link, done in answers)
    )
    return answered


def _answer(
    event: Snapshot,
    fingerprint: str | None,
    link: LinkRecord,
    known: dict[tuple[str, str], dict[str, CrossReference]],
    settled: dict[tuple[str, str], str],
) -> WriteResult | None:
    if fingerprint is None:
        return None
    at = (link.id, event.entity_key)
    return already_applied(event, fingerprint, known.get(at, {}), settled.get(at))


async def _known(
    events: Sequence[Snapshot],
    targets: Sequence[Sequence[LinkRecord]],
    kinds: Sequence[str],
    store: StateStore,
) -> tuple[dict[tuple[str, str], dict[str, CrossReference]], dict[tuple[str, str], str]]:
    """By (link id, source key): its cross-references by kind, and the snapshot last
    settled with no record (the upsert's :data:`SETTLED_WITHOUT_RECORD`); two reads a link."""
    keys_by_link: dict[str, list[str]] = {}
    for event, event_links in zip(events, targets, strict=True):
        for link in event_links:
            keys_by_link.setdefault(link.id, []).append(event.entity_key)
    known: dict[tuple[str, str], dict[str, CrossReference]] = {}
    settled: dict[tuple[str, str], str] = {}
    async with store.reading() as repos:
        for link_id, keys in keys_by_link.items():
            found = await repos.cross_references.of_records(link_id, keys, kinds)
            known.update({(link_id, key): references for key, references in found.items()})
            marks = await repos.mappings.of_sources(link_id, SETTLED_WITHOUT_RECORD, keys)
            settled.update({(link_id, key): mark for key, mark in marks.items()})
    return known, settled
