"""Run a link's replay parts: read a fixed range of the log and drive one link's sink.

A person asks for a replay (``mlc replay --link``; ``services/control/replays.py`` writes
it with one part per (service, topic) of the link's flow). Each service runs a
:class:`ReplayWorker` beside its subscribers: it claims its own parts from the store, reads
each part's range of the topic with a consumer of its own (no consumer group: the
service's offsets and the other links are untouched), and hands the link's events to the
sink, for that link only:

- **newest snapshot per record.** The events are full copies of a record, so only the
  newest one of each record in the range is driven: a live run then makes exactly the
  writes its dry run listed, not one per stale copy.
- **live**: :meth:`LinkSink.apply` inside the service's :class:`Outcomes`, so each write
  is a ``SyncOutcome`` caused by the original event (``mlc audit`` shows the replay in the
  record's chain); a record already written comes out ``unchanged``. A record that still
  fails after :data:`ATTEMPTS` tries is counted ``failed`` and the replay goes on.
- **dry run**: :meth:`LinkSink.preview`, reads only; each record's row goes to the
  replay's plan, nothing is published.

Progress (records found, done, outcomes by status) is saved every second; saving also
keeps the part held. A replica that dies lets its parts go after
``MLC_REPLAY_HOLD_SECONDS`` and another replica (or the same one restarted) runs them
again from the start: what was written comes out ``unchanged``, so the end state is the
same. When a service closes a replay's last part it writes ``replay.finished`` to the
audit log with the totals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Final

from schemas import EventDecodeError, decode_event
from schemas.snapshot import Snapshot
from services.runtime.audit_trail import EntityRef
from services.runtime.link_sink import LinkSink
from services.runtime.log_range import read_range
from services.runtime.logging import get_logger
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.service_main import ServiceParts
from services.runtime.store import StateStore
from services.runtime.store.records import (
    LinkRecord,
    PlannedWrite,
    ReplayPartRecord,
    ReplayRecord,
)
from services.runtime.vendor_plugin import VendorPlugin

__all__ = [
    "ATTEMPTS",
    "ReplayInput",
    "ReplayWorker",
    "parse_entity",
    "replay_detail",
    "replay_totals",
    "replay_worker",
]

ATTEMPTS: Final = 3
"""Tries of one record before it is counted ``failed`` (the live bus would dead-letter it)."""
_FIRST_BACKOFF_SECONDS: Final = 0.5
_SAVE_EVERY_SECONDS: Final = 1.0

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayInput:
    """A sink this service runs for ``flow``, fed from ``topic`` with ``event_types``."""

    flow: str
    topic: str
    event_types: tuple[type[Snapshot], ...]
    sink: LinkSink[Any]
    writes_source: bool = False
    """The sink writes the link's *source* connection (lists aligned back), not its target."""


def replay_worker(
    parts: ServiceParts,
    outcomes: Outcomes,
    plugin: VendorPlugin,
    *,
    holder: str,
    inputs: Iterable[ReplayInput],
) -> ReplayWorker:
    """The worker of ``plugin``'s service; its inputs must be the sinks the plugin declares
    (the control plane splits replays by those), else the service does not start."""
    given = list(inputs)
    wired = {(i.flow, i.topic) for i in given}
    promised = {(s.flow, s.topic) for s in plugin.sinks}
    if wired != promised:
        msg = (
            f"{plugin.name}: the plugin declares sinks {sorted(promised)} but the service "
            f"wires {sorted(wired)} for replays"
        )
        raise ValueError(msg)
    return ReplayWorker(
        store=parts.store,
        outcomes=outcomes,
        bootstrap_servers=parts.settings.kafka_bootstrap_servers,
        service=plugin.name,
        holder=holder,
        inputs=given,
        poll_seconds=parts.settings.replay_poll_seconds,
        hold_seconds=parts.settings.replay_hold_seconds,
    )


def parse_entity(text: str | None) -> EntityRef | None:
    """``vendor:id`` as stored on a replay (checked by the control plane when asked)."""
    if not text:
        return None
    vendor, _, entity_id = text.partition(":")
    return EntityRef(vendor, entity_id)


def replay_detail(replay: ReplayRecord) -> dict[str, Any]:
    """What the audit log keeps of a replay: which, who asked, the range, dry run or not."""
    return {
        "replay": replay.id,
        "requested_by": replay.requested_by,
        "dry_run": replay.dry_run,
        "since": replay.since,
        "until": replay.until,
        "entity": replay.entity,
    }


def replay_totals(parts: Iterable[ReplayPartRecord]) -> dict[str, int]:
    """A replay's outcomes by status over its parts, with ``records`` and ``done``."""
    totals: Counter[str] = Counter()
    for part in parts:
        totals["records"] += part.total
        totals["done"] += part.done
        totals.update(part.counts)
    return dict(totals)


class ReplayWorker:
    """Claims and runs the replay parts of ``service``; one part at a time."""

    def __init__(
        self,
        *,
        store: StateStore,
        outcomes: Outcomes,
        bootstrap_servers: str,
        service: str,
        holder: str,
        inputs: Iterable[ReplayInput],
        poll_seconds: float = 1.0,
        hold_seconds: float = 30.0,
    ) -> None:
        self._store = store
        self._outcomes = outcomes
        self._bootstrap = bootstrap_servers
        self._service = service
        self._holder = holder
        self._inputs: Mapping[tuple[str, str], ReplayInput] = {(i.flow, i.topic): i for i in inputs}
        self._poll = poll_seconds
        self._hold = timedelta(seconds=hold_seconds)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ReplayWorker]:
        """The worker in the background for the block (a service's background part)."""
        task = asyncio.create_task(self._run_forever(), name=f"replays:{self._service}")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run_forever(self) -> None:
        while True:
            try:
                ran = await self.run_once()
            except Exception:  # a store or broker hiccup: look again at the next poll
                _log.exception("replay.worker_error", service=self._service)
                ran = False
            if not ran:
                # Polling the store's table of parts: there is no event to wait on.
                await asyncio.sleep(self._poll)

    async def run_once(self) -> bool:
        """Claim one open part of this service and run it; False when there was none."""
        async with self._store.transaction() as repos:
            part = await repos.replays.claim(self._service, self._holder, ttl=self._hold)
            replay = await repos.replays.get(part.replay_id) if part else None
            link = await repos.links.get(replay.link_id) if replay else None
            vendors: dict[str, str] = {}
            if link is not None:
                for connection_id in (link.source_connection_id, link.target_connection_id):
                    connection = await repos.connections.get(connection_id)
                    if connection is not None:
                        vendors[connection_id] = connection.vendor
        if part is None or replay is None:
            return False
        if link is None:
            await self._close(part, Counter(), 0, 0, error="the link was removed")
            return True
        replay_input = self._inputs.get((link.flow, part.topic))
        if replay_input is None:
            error = f"{self._service} writes nothing of flow {link.flow} from {part.topic}"
            await self._close(part, Counter(), 0, 0, error=error)
            return True
        await self._run(part, replay, link, replay_input, vendors)
        return True

    async def _run(
        self,
        part: ReplayPartRecord,
        replay: ReplayRecord,
        link: LinkRecord,
        replay_input: ReplayInput,
        vendors: Mapping[str, str],
    ) -> None:
        log = _log.bind(replay=replay.id, link=link.id, topic=part.topic, dry_run=replay.dry_run)
        try:
            events = await self._newest_per_record(part, replay, link, replay_input, vendors)
        except Exception as error:
            log.exception("replay.read_failed")
            await self._close(part, Counter(), 0, 0, error=f"reading {part.topic}: {error}")
            return
        counts: Counter[str] = Counter()
        total, done = len(events), 0
        log.info("replay.part_started", records=total)
        if not await self._save(part, total, done, counts, []):
            return
        plan: list[PlannedWrite] = []
        loop = asyncio.get_running_loop()
        saved_at = loop.time()
        for event in events:
            result = await self._drive(replay_input, event, link, dry_run=replay.dry_run)
            counts[result.status] += 1
            done += 1
            if replay.dry_run:
                plan.append(_planned(part, event, result))
            if loop.time() - saved_at >= _SAVE_EVERY_SECONDS:
                if not await self._save(part, total, done, counts, plan):
                    log.warning("replay.part_lost", done=done)
                    return  # another replica took it over (we were too slow to save)
                plan, saved_at = [], loop.time()
        if not await self._save(part, total, done, counts, plan):
            return
        await self._close(part, counts, total, done)
        log.info("replay.part_finished", records=total, **counts)

    async def _newest_per_record(
        self,
        part: ReplayPartRecord,
        replay: ReplayRecord,
        link: LinkRecord,
        replay_input: ReplayInput,
        vendors: Mapping[str, str],
    ) -> list[Snapshot]:
        """The link's events of the range, the newest of each record, in log order."""
        entity = parse_entity(replay.entity)
        newest: dict[tuple[str, str], tuple[tuple[int, int], Snapshot]] = {}
        start = {int(p): o for p, o in part.start_offsets.items()}
        end = {int(p): o for p, o in part.end_offsets.items()}
        async for logged in read_range(self._bootstrap, part.topic, start, end):
            try:
                event = decode_event(logged.value or b"")
            except EventDecodeError:
                continue  # not an event (the live subscriber dead-lettered it)
            if not isinstance(event, replay_input.event_types):
                continue
            if entity is not None and (
                vendors.get(event.connection_id) != entity.vendor
                or event.entity_key != entity.entity_id
            ):
                continue
            if not replay_input.sink.accepts(event, link):
                continue
            record = (event.connection_id, event.entity_key)
            seen = newest.get(record)
            if seen is None or event.revision >= seen[1].revision:
                newest[record] = ((logged.partition, logged.offset), event)
        return [event for _, event in sorted(newest.values(), key=lambda pair: pair[0])]

    async def _drive(
        self, replay_input: ReplayInput, event: Snapshot, link: LinkRecord, *, dry_run: bool
    ) -> WriteResult:
        sink = replay_input.sink
        written = link.source_connection_id if replay_input.writes_source else None
        delay = _FIRST_BACKOFF_SECONDS
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if dry_run:
                    return await sink.preview(event, link)
                return await self._outcomes.attempt(
                    event,
                    link,
                    event.entity_key,
                    partial(sink.apply, event, link),
                    written=written,
                )
            except Exception as error:  # the sink's failure; its outcome is published
                if attempt == ATTEMPTS:
                    return WriteResult("failed", "write", detail=f"{type(error).__name__}: {error}")
                await asyncio.sleep(delay)  # back off before the record's next try
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    async def _save(
        self,
        part: ReplayPartRecord,
        total: int,
        done: int,
        counts: Counter[str],
        plan: list[PlannedWrite],
    ) -> bool:
        async with self._store.transaction() as repos:
            held = await repos.replays.progress(
                part, self._holder, ttl=self._hold, total=total, done=done, counts=counts
            )
            if held and plan:
                await repos.replays.plan_rows(plan)
        return held

    async def _close(
        self,
        part: ReplayPartRecord,
        counts: Counter[str],
        total: int,
        done: int,
        *,
        error: str | None = None,
    ) -> None:
        async with self._store.transaction() as repos:
            finished = await repos.replays.finish(
                part,
                self._holder,
                state="failed" if error else "finished",
                total=total,
                done=done,
                counts=counts,
                error=error,
            )
            if finished is not None:
                parts = await repos.replays.parts(finished.id)
                await repos.audit_log.append(
                    actor=self._service,
                    action="replay.finished",
                    subject=finished.link_id,
                    detail={
                        **replay_detail(finished),
                        "state": finished.state,
                        **replay_totals(parts),
                    },
                )


def _planned(part: ReplayPartRecord, event: Snapshot, result: WriteResult) -> PlannedWrite:
    return PlannedWrite(
        replay_id=part.replay_id,
        service=part.service,
        topic=part.topic,
        entity_key=f"{event.connection_id}:{event.entity_key}",
        status=result.status,
        action=result.action or ("" if result.status == "unchanged" else result.status),
        operation=result.operation,
        detail=result.detail,
        target_ids=dict(result.target_ids),
    )
