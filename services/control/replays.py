"""``mlc replay --link``: re-drive one link's events from a point of the log, or preview them.

The control plane checks the request (the link, the points of the log, the record), fixes
the range as offsets per partition *now* (a replay run again covers the same records), and
writes the replay with one part per sink of the link's flow (``FlowSink`` in each vendor's
plugin). The services run the parts (``services/runtime/link_replays.py``). Nothing is
published to the shared topics: the other links of the same source see nothing.

A **preview link** is a link created disabled (``mlc links add --preview``): the sinks skip
it, its source still resends everything, and a dry-run replay lists what it would write.
:meth:`LinkReplays.go_live` enables it and replays the log from its beginning for real,
so the live run makes the writes the preview listed (and what arrived since).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from services.control.connections import ConnectionInputError, ConnectionNotFoundError
from services.runtime.audit_trail import parse_entity_ref
from services.runtime.link_replays import replay_detail, replay_totals
from services.runtime.log_range import LogPoint, PointError, parse_point, resolve_range
from services.runtime.store import StateStore
from services.runtime.store.records import (
    LinkRecord,
    PlannedWrite,
    ReplayPartRecord,
    ReplayRecord,
)
from services.runtime.store.replays import PartRange

__all__ = [
    "BEGINNING",
    "LinkReplays",
    "RangeResolver",
    "ReplayNotFoundError",
    "ReplayRequest",
    "ReplayView",
    "ReplaysUnavailableError",
    "kafka_range_resolver",
]

BEGINNING: Final = "beginning"

RangeResolver = Callable[
    [str, LogPoint, LogPoint], Awaitable[tuple[dict[int, int], dict[int, int]]]
]
"""``(topic, since, until) -> (first offsets, end offsets)`` per partition."""


class ReplayNotFoundError(LookupError):
    """No replay with that id."""


class ReplaysUnavailableError(RuntimeError):
    """This control plane was built without Kafka: it cannot fix a range of the log."""


def kafka_range_resolver(bootstrap_servers: str) -> RangeResolver:
    """Resolve ranges against the cluster at ``bootstrap_servers``."""

    async def resolve(
        topic: str, since: LogPoint, until: LogPoint
    ) -> tuple[dict[int, int], dict[int, int]]:
        return await resolve_range(bootstrap_servers, topic, since, until)

    return resolve


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """What a person asks: a link, from where, to where, which record, for real or not."""

    link_id: str
    since: str = BEGINNING
    until: str | None = None
    entity: str | None = None
    dry_run: bool = False
    requested_by: str = "operator"


@dataclass(frozen=True, slots=True)
class ReplayView:
    """A replay with its parts and its totals (``records``, ``done``, outcomes by status)."""

    replay: ReplayRecord
    parts: list[ReplayPartRecord]
    totals: dict[str, int]


class LinkReplays:
    """Asks for replays and reads them back; every request audited."""

    def __init__(
        self,
        store: StateStore,
        *,
        resolve: RangeResolver,
        sinks: Mapping[str, Sequence[tuple[str, str]]],
        vendors: Collection[str],
    ) -> None:
        """``sinks``: flow -> (service, topic) of each of its sinks (``vendors.flow_sinks``)."""
        self._store = store
        self._resolve = resolve
        self._sinks = sinks
        self._vendors = vendors

    async def request(self, request: ReplayRequest) -> ReplayView:
        """Write the replay (the services pick it up); 404 / 422 errors before anything."""
        since = _point(request.since, "since")
        until = _point(request.until, "until") if request.until else LogPoint("end")
        async with self._store.transaction() as repos:
            link = await repos.links.get(request.link_id)
            if link is None:
                raise ConnectionNotFoundError(f"no link {request.link_id!r}")
            ends = [
                await repos.connections.get(link.source_connection_id),
                await repos.connections.get(link.target_connection_id),
            ]
        entity = self._entity(request.entity, {c.vendor for c in ends if c is not None})
        sinks = self._sinks.get(link.flow, ())
        if not sinks:
            raise ConnectionInputError(f"flow {link.flow} has no sink that can replay it")
        parts = []
        for position, (service, topic) in enumerate(sinks):
            start, end = await self._resolve(topic, since, until)
            parts.append(PartRange(service, topic, start, end, position=position))
        async with self._store.transaction() as repos:
            replay = await repos.replays.create(
                link_id=link.id,
                requested_by=request.requested_by,
                since=request.since,
                until=request.until,
                entity=entity,
                dry_run=request.dry_run,
                parts=parts,
            )
            await repos.audit_log.append(
                actor=request.requested_by,
                action="replay.requested",
                subject=link.id,
                detail={
                    **replay_detail(replay),
                    "records_at_most": sum(
                        part.end_offsets[p] - first
                        for part in parts
                        for p, first in part.start_offsets.items()
                    ),
                },
            )
            stored = await repos.replays.parts(replay.id)
        return ReplayView(replay, stored, replay_totals(stored))

    async def go_live(self, link_id: str, *, requested_by: str = "operator") -> ReplayView:
        """Enable a preview link and replay its whole log for real (audited as both)."""
        async with self._store.transaction() as repos:
            link = await repos.links.get(link_id)
            if link is None:
                raise ConnectionNotFoundError(f"no link {link_id!r}")
            if not link.enabled:
                await repos.links.update(link_id, enabled=True)
                await repos.audit_log.append(
                    actor=requested_by, action="link.live", subject=link_id
                )
        return await self.request(
            ReplayRequest(link_id=link_id, since=BEGINNING, requested_by=requested_by)
        )

    async def show(self, replay_id: str) -> ReplayView:
        async with self._store.transaction() as repos:
            replay = await repos.replays.get(replay_id)
            if replay is None:
                raise ReplayNotFoundError(f"no replay {replay_id!r}")
            parts = await repos.replays.parts(replay_id)
        return ReplayView(replay, parts, replay_totals(parts))

    async def recent(self, link_id: str, *, limit: int = 20) -> list[ReplayView]:
        async with self._store.transaction() as repos:
            link: LinkRecord | None = await repos.links.get(link_id)
            if link is None:
                raise ConnectionNotFoundError(f"no link {link_id!r}")
            found = await repos.replays.recent(link_id=link_id, limit=limit)
            views = []
            for replay in found:
                parts = await repos.replays.parts(replay.id)
                views.append(ReplayView(replay, parts, replay_totals(parts)))
        return views

    async def plan(self, replay_id: str) -> list[PlannedWrite]:
        """A dry run's rows (empty while it runs, or for a live replay)."""
        async with self._store.transaction() as repos:
            if await repos.replays.get(replay_id) is None:
                raise ReplayNotFoundError(f"no replay {replay_id!r}")
            return await repos.replays.plan(replay_id)

    def _entity(self, text: str | None, link_vendors: set[str]) -> str | None:
        if not text:
            return None
        ref = parse_entity_ref(text.strip(), self._vendors)
        if ref is None:
            msg = f"entity {text!r} is not <vendor>:<id> with a vendor of {sorted(self._vendors)}"
            raise ConnectionInputError(msg)
        if ref.vendor not in link_vendors:
            msg = (
                f"entity {text!r} is a {ref.vendor} record; this link joins {sorted(link_vendors)}"
            )
            raise ConnectionInputError(msg)
        return str(ref)


def _point(text: str, name: str) -> LogPoint:
    try:
        return parse_point(text)
    except PointError as error:
        raise ConnectionInputError(f"{name}: {error}") from None
