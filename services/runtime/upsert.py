"""The idempotent upsert: one snapshot made true in a target system, once in effect.

Kafka delivers at least once; this makes each effect happen once. For one (link, source
record), under a state-store lease so replicas take turns (:mod:`services.runtime.leasing`):

1. **Revision and fingerprint.** The cross-references remember the snapshot revision last
   applied (``source_version``) and a fingerprint of what it said. An older revision is
   ``unchanged`` (a late event never rolls a newer state back); an equal one that says the
   same is ``unchanged`` (a redelivery). An equal one that says something else is applied:
   sources with coarse clocks give two changes one revision.
2. **Find before create** (:meth:`UpsertTarget.find`, the sink's): the target record is
   looked for by its cross-reference, then by natural key. A create the sink is about to
   send is announced first (``announce_create``: a mark in the store, committed before the
   call); while a mark stands nobody recorded that create's outcome (a crash, another
   replica), and ``find`` is told to look harder than its caches.
3. **Write** (:meth:`UpsertTarget.write`, the sink's): what differs, in the vendor's order.
   A preview (:meth:`IdempotentUpsert.preview`, a dry run) stops here and asks
   :meth:`UpsertTarget.plan` what the write would do instead: the same decisions, no call
   that changes the target.
4. **Bookkeeping**, one transaction: each cross-reference by compare-and-set (a replica
   whose lease ran out mid-write fails here instead of overwriting newer bookkeeping, and
   the message is retried), the announcement removed, the sink's own rows
   (:meth:`UpsertTarget.record`), and the lease given back. A snapshot that needed no
   record at all (a person terminated before the target ever had them) has no
   cross-reference to remember it by: its revision and fingerprint are kept instead
   (:data:`SETTLED_WITHOUT_RECORD`), so its redelivery is answered in step 1 too.

A sink fills in :class:`UpsertTarget`, one object per attempt, holding the snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Final, Protocol

from schemas.snapshot import Snapshot
from services.runtime.leasing import HeldLease, held_lease
from services.runtime.outcomes import WriteResult
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import CrossReference, LinkRecord

__all__ = [
    "PENDING_CREATE",
    "SETTLED_WITHOUT_RECORD",
    "AnnounceCreate",
    "IdempotentUpsert",
    "Known",
    "UpsertTarget",
    "Written",
    "already_applied",
    "parse_revision",
    "revision_text",
]

PENDING_CREATE: Final = "upsert.create_pending"
"""Mapping kind: source key -> holder, from just before a create is sent until its
bookkeeping; while it stands, ``find`` must not trust what it cached."""

SETTLED_WITHOUT_RECORD: Final = "upsert.settled_without_record"
"""Mapping kind: source key -> ``revision|fingerprint`` of the snapshot last found to need
no target record (nothing existed, nothing was to be made); removed once a record is."""

AnnounceCreate = Callable[[], Awaitable[None]]
"""Called by a sink right before it sends a create; the mark is committed when it returns."""


@dataclass(frozen=True, slots=True)
class Known:
    """What the store knows of the record before the write."""

    references: Mapping[str, CrossReference]
    """The link's cross-references of this record, by target kind."""
    pending_create: bool
    """A create was announced and never recorded: someone may have created it unseen."""
    settled_without_record: str | None = None
    """``revision|fingerprint`` of the snapshot last settled with no record needed."""


@dataclass(slots=True)
class Written:
    """What the sink's write did."""

    target_ids: dict[str, str] = field(default_factory=dict)
    """Target records that exist now, by cross-reference kind (empty: nothing to record)."""
    operations: list[str] = field(default_factory=list)
    """The calls made, in order; none means the target already matched."""
    review: str = ""
    """Why a person has to look (``needs_review``), if they do."""
    unchanged_detail: str = "the target already matches"
    action: str = ""
    """What a person reads in a preview when it is not plain: ``deactivate``, say
    (empty: ``create`` when nothing existed, ``update`` when something did)."""


class UpsertTarget(Protocol):
    """One write attempt of a sink: the snapshot and the vendor knowledge around it."""

    @property
    def lease_prefix(self) -> str:
        """Names the lease ``<prefix>:<link>:<source key>``."""

    @property
    def reference_kinds(self) -> Sequence[str]:
        """The cross-reference kinds this record can have (e.g. a person's two records)."""

    @property
    def fingerprint(self) -> str:
        """What the snapshot says, as far as the target cares (equal revisions compare it)."""

    async def find(self, known: Known) -> None:
        """Look for the target record before anything is created."""

    async def write(self, announce_create: AnnounceCreate) -> Written:
        """Make the target match; call ``announce_create`` right before any create."""

    async def plan(self) -> Written:
        """What :meth:`write` would do, after :meth:`find`, without writing: the same
        decisions and operation names (reads are allowed; ids not yet made are left out)."""

    async def record(self, repos: Repositories, written: Written) -> None:
        """The sink's own bookkeeping, in the kit's transaction with the cross-references."""


def revision_text(revision: tuple[int, int]) -> str:
    """A snapshot's revision as stored in a cross-reference's ``source_version``."""
    return f"{revision[0]}.{revision[1]}"


def parse_revision(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    major, _, minor = text.partition(".")
    try:
        return (int(major), int(minor or 0))
    except ValueError:
        return None


def _why_applied(
    revision: tuple[int, int], fingerprint: str, applied: Iterable[tuple[str | None, str | None]]
) -> str:
    """Why the snapshot is ``unchanged`` ("" when it is not), given the (source version,
    fingerprint) pairs applied before."""
    pairs = [(parse_revision(version), said) for version, said in applied]
    newest = max((r for r, _ in pairs if r is not None), default=None)
    if newest is None or revision > newest:
        return ""
    if revision < newest:
        return f"revision {revision_text(revision)} is older than the one applied"
    same = any(said == fingerprint for r, said in pairs if r == newest)
    return f"revision {revision_text(revision)} is already applied" if same else ""


def already_applied(
    snapshot: Snapshot,
    fingerprint: str,
    references: Mapping[str, CrossReference],
    settled_without_record: str | None = None,
) -> WriteResult | None:
    """The ``unchanged`` answer if ``references`` (by kind), or the snapshot last settled
    with no record, show ``snapshot`` applied, else None (also used on a whole batch:
    :mod:`services.runtime.applied_screen`)."""
    applied = [(ref.source_version, ref.fingerprint) for ref in references.values()]
    if settled_without_record is not None:
        version, _, said = settled_without_record.partition("|")
        applied.append((version, said))
    why = _why_applied(snapshot.revision, fingerprint, applied)
    if not why:
        return None
    ids = {kind: ref.target_id for kind, ref in references.items()}
    return WriteResult("unchanged", "compare", ids, why)


class IdempotentUpsert:
    """The kit's half of a sink's write: leases, revisions, announcements, bookkeeping.

    ``holder`` names this replica in leases. ``before_bookkeeping`` runs between the
    vendor's writes and the bookkeeping: the contract suite raises there to play a crash
    at the one moment the effect happened and nobody wrote it down.
    """

    def __init__(
        self,
        *,
        store: StateStore,
        holder: str,
        lease_ttl: timedelta,
        before_bookkeeping: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._holder = holder
        self._lease_ttl = lease_ttl
        self._before_bookkeeping = before_bookkeeping

    async def apply(
        self, link: LinkRecord, snapshot: Snapshot, target: UpsertTarget
    ) -> WriteResult:
        """Apply ``snapshot`` through ``target`` for ``link``, under the record's lease.

        A snapshot already applied is answered ``unchanged`` before the lease is taken (a
        replay's every event, a redelivery): the revisions applied only ever grow, so what
        a look without the lease finds applied stays applied, whatever a writer holding
        the lease is doing. That costs a replay one read per event instead of a lease
        taken and given back.
        """
        key = snapshot.entity_key
        known = await self._known(link, key, target)
        unchanged = _unchanged(snapshot, target.fingerprint, known)
        if unchanged is not None:
            return unchanged
        lease = f"{target.lease_prefix}:{link.id}:{key}"
        ttl = self._lease_ttl
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl) as held:
            return await self._apply_held(link, key, snapshot, target, held)

    async def preview(
        self, link: LinkRecord, snapshot: Snapshot, target: UpsertTarget
    ) -> WriteResult:
        """What :meth:`apply` would do now, with no write and no bookkeeping (a dry run).

        Takes no lease: it changes nothing, and a preview waiting behind a live write
        would only report a moment later what it reports now.
        """
        key = snapshot.entity_key
        known = await self._known(link, key, target)
        unchanged = _unchanged(snapshot, target.fingerprint, known)
        if unchanged is not None:
            return unchanged
        await target.find(known)
        planned = await target.plan()
        result = _result(planned)
        if result.status == "unchanged":
            return result
        if result.status == "needs_review":
            return replace(result, action="review")
        # A plan names only records that exist already: none means the write creates one.
        return replace(
            result, action=planned.action or ("update" if result.target_ids else "create")
        )

    async def _known(self, link: LinkRecord, key: str, target: UpsertTarget) -> Known:
        # Two statements whatever the kinds: this read comes twice in every write.
        async with self._store.reading() as repos:
            of_record = await repos.cross_references.of_records(
                link.id, [key], target.reference_kinds
            )
            marks = await repos.mappings.kinds_of(
                link.id, key, (PENDING_CREATE, SETTLED_WITHOUT_RECORD)
            )
        return Known(
            references=of_record.get(key, {}),
            pending_create=PENDING_CREATE in marks,
            settled_without_record=marks.get(SETTLED_WITHOUT_RECORD),
        )

    async def _apply_held(
        self,
        link: LinkRecord,
        key: str,
        snapshot: Snapshot,
        target: UpsertTarget,
        held: HeldLease,
    ) -> WriteResult:
        known = await self._known(link, key, target)
        references = known.references
        fingerprint = target.fingerprint
        # Again under the lease: another replica may have applied it while we waited.
        unchanged = _unchanged(snapshot, fingerprint, known)
        if unchanged is not None:
            return unchanged

        await target.find(known)
        announced = False

        async def announce_create() -> None:
            nonlocal announced
            async with self._store.transaction() as repos:
                await repos.mappings.put(link.id, PENDING_CREATE, key, self._holder)
            announced = True

        written = await target.write(announce_create)
        applied = f"{revision_text(snapshot.revision)}|{fingerprint}"
        if written.target_ids:
            if self._before_bookkeeping is not None:
                await self._before_bookkeeping()
            async with held.last_transaction() as repos:
                for kind, target_id in written.target_ids.items():
                    before = references.get(kind)
                    await repos.cross_references.put(
                        link.id,
                        key,
                        kind,
                        target_id=target_id,
                        expected_revision=before.revision if before else None,
                        fingerprint=fingerprint,
                        source_version=revision_text(snapshot.revision),
                        source_updated_at=snapshot.source_updated_at,
                    )
                if announced or known.pending_create:
                    await repos.mappings.delete(link.id, PENDING_CREATE, key)
                if known.settled_without_record is not None:
                    await repos.mappings.delete(link.id, SETTLED_WITHOUT_RECORD, key)
                await target.record(repos, written)
        elif _nothing_needed(written, known) and known.settled_without_record != applied:
            async with held.last_transaction() as repos:
                await repos.mappings.put(link.id, SETTLED_WITHOUT_RECORD, key, applied)
        return _result(written)


def _unchanged(snapshot: Snapshot, fingerprint: str, known: Known) -> WriteResult | None:
    return already_applied(snapshot, fingerprint, known.references, known.settled_without_record)


def _nothing_needed(written: Written, known: Known) -> bool:
    """The write found no record and made none, and nobody has to look: the snapshot is
    settled with no record (a person terminated before the target had them, say)."""
    return not (
        written.target_ids
        or written.operations
        or written.review
        or known.references
        or known.pending_create
    )


def _result(written: Written) -> WriteResult:
    """The outcome of a write (or of a plan: what the write would be)."""
    operation = "+".join(written.operations) or "compare"
    ids = dict(written.target_ids)
    if written.review:
        return WriteResult("needs_review", operation, ids, written.review)
    if not written.operations:
        return WriteResult("unchanged", "compare", ids, written.unchanged_detail)
    return WriteResult("applied", operation, ids)
