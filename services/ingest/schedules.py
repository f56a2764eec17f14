"""Poll and reconciliation ticks, published to ``raw.<vendor>`` by exactly one replica.

Every ingest replica runs :func:`run_scheduler`. Each cycle it reads the
connections and, for each one with enabled schedules (see
:mod:`services.runtime.schedule_specs`), does:

1. Take or extend the connection's lease ``ingest.schedule:<connection_id>``
   and read each schedule's watermark (service ``ingest``, name
   ``schedule:<schedule name>``: the ``due_at`` of the last tick published), in
   one transaction. A replica that does not get the lease leaves the
   connection alone; the database lets exactly one contender win.
2. For each schedule whose latest slot is after its watermark, publish one
   tick for that slot and wait for Kafka's acknowledgement (acks=all).
3. Only then, in a second transaction, renew the lease and advance the
   watermark to that slot, if the lease is still ours and the watermark is
   still behind.

Why this order. Publishing to Kafka and committing to the database cannot be
one atomic step, so one of the two failure windows has to be accepted:

- Advance first, publish second: a crash between them loses the tick for
  good (the watermark says it was fired). A skipped poll is silent data loss.
- Publish first, advance second (chosen): a crash between the acknowledgement
  and the commit publishes the same slot again after the restart (or from the
  replica that takes the lease over). The duplicate is harmless: a tick says
  "poll connection C for schedule S as of due_at D", consumers deduplicate on
  ``(connection_id, schedule, due_at)``, and even a second poll only reads what
  changed since the vendor service's own watermark.

The watermark is advanced only while the lease is still ours (the renewal in
step 3 locks the lease row, which also serialises competing advances on
PostgreSQL; SQLite serialises every write transaction). A replica that stalled
past its lease and lost it therefore never moves the watermark; at worst its
late tick is a duplicate of the new holder's. A skipped slot needs a watermark
advanced without a publish, which no path does.

Missed slots. After downtime (or when a schedule is first seen) only the
latest due slot is fired, once, and the number of slots skipped is logged
(``schedule.slots_skipped``) and returned. A poll covers everything since the
vendor service's own changed-since watermark and a reconciliation compares
everything, so ten back-to-back catch-up ticks would do the same work ten
times and flood the vendor's rate limit for nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.envelope import utcnow
from schemas.raw import PollTick, ReconcileTick
from schemas.topics import raw_topic
from services.ingest.ledger_pruning import LedgerPruner
from services.runtime.logging import get_logger
from services.runtime.schedule_specs import (
    Schedule,
    ScheduleSpecError,
    latest_due_slot,
    schedules_of,
    slots_between,
)
from services.runtime.store import ConnectionRecord, StateStore
from services.runtime.ticks import (
    ACTIVE_STATUS,
    Tick,
    TickPublisher,
    kafka_tick_publisher,
    tick_entity_key,
)
from services.vendors import VENDORS

__all__ = [
    "ACTIVE_STATUS",
    "WATERMARK_SERVICE",
    "Clock",
    "FiredTick",
    "SchedulerSettings",
    "Tick",
    "TickPublisher",
    "default_holder_id",
    "fire_due_ticks",
    "kafka_tick_publisher",
    "lease_name",
    "release_leases",
    "run_scheduler",
    "scheduler_running",
    "tick_entity_key",
    "watermark_name",
]

WATERMARK_SERVICE = "ingest"
"""The ``service`` column of the schedule watermarks."""

Clock = Callable[[], datetime]
"""The current time, timezone-aware; tests pass a clock they move by hand."""

_log = get_logger(__name__)


class SchedulerSettings(BaseSettings):
    """How often the scheduler looks for due ticks and how long its leases last."""

    model_config = SettingsConfigDict(env_prefix="MLC_SCHEDULER_", extra="ignore", frozen=True)

    enabled: bool = Field(default=True, description="Run the schedule loop in this replica.")
    check_interval_seconds: float = Field(
        default=5.0, gt=0, description="Seconds between looks for due ticks."
    )
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a replica keeps a connection's schedule after its last renewal.",
    )

    @model_validator(mode="after")
    def _lease_outlives_a_cycle(self) -> SchedulerSettings:
        # The holder renews once per cycle; a lease shorter than a few cycles
        # would pass back and forth between healthy replicas.
        if self.lease_seconds < 3 * self.check_interval_seconds:
            msg = (
                f"MLC_SCHEDULER_LEASE_SECONDS ({self.lease_seconds}) must be at least three "
                f"times MLC_SCHEDULER_CHECK_INTERVAL_SECONDS ({self.check_interval_seconds})"
            )
            raise ValueError(msg)
        return self

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)


@dataclass(frozen=True, slots=True)
class FiredTick:
    """A tick this replica published, and how many older due slots it stands in for."""

    tick: Tick
    skipped_slots: int


def lease_name(connection_id: str) -> str:
    """The lease that decides which replica runs a connection's schedules."""
    return f"ingest.schedule:{connection_id}"


def watermark_name(schedule_name: str) -> str:
    """The watermark that holds the ``due_at`` of a schedule's last published tick."""
    return f"schedule:{schedule_name}"


def default_holder_id() -> str:
    """A lease holder id unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"


def _make_tick(connection: ConnectionRecord, schedule: Schedule, due_at: datetime) -> Tick:
    tick_class = PollTick if schedule.kind == "poll" else ReconcileTick
    return tick_class(
        connection_id=connection.id,
        tenant_id=connection.tenant_id,
        occurred_at=due_at,
        entity_key=tick_entity_key(schedule.name),
        vendor=connection.vendor,
        schedule=schedule.name,
        due_at=due_at.isoformat(),
    )


def _parse_watermark(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class _DueSlot:
    schedule: Schedule
    due_at: datetime
    skipped_slots: int


async def _claim_connection(
    store: StateStore,
    connection: ConnectionRecord,
    schedules: tuple[Schedule, ...],
    *,
    holder_id: str,
    now: datetime,
    ttl: timedelta,
) -> list[_DueSlot] | None:
    """Take the connection's lease and list its due slots; None when another replica holds it."""
    async with store.transaction() as tx:
        if not await tx.leases.try_acquire(lease_name(connection.id), holder_id, ttl=ttl, now=now):
            return None
        due: list[_DueSlot] = []
        for schedule in schedules:
            stored = await tx.watermarks.get(
                WATERMARK_SERVICE, connection.id, watermark_name(schedule.name)
            )
            fired_until = _parse_watermark(stored)
            if stored is not None and fired_until is None:
                _log.warning(
                    "schedule.watermark_unreadable",
                    connection_id=connection.id,
                    schedule=schedule.name,
                    value=stored,
                )
            slot = latest_due_slot(schedule, now)
            if fired_until is not None and slot <= fired_until:
                continue
            skipped = 0 if fired_until is None else slots_between(schedule, fired_until, slot) - 1
            due.append(_DueSlot(schedule=schedule, due_at=slot, skipped_slots=max(skipped, 0)))
        return due


async def _record_fired(
    store: StateStore,
    connection_id: str,
    slot: _DueSlot,
    *,
    holder_id: str,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Advance the watermark to the published slot if the lease is still ours."""
    async with store.transaction() as tx:
        if not await tx.leases.renew(lease_name(connection_id), holder_id, ttl=ttl, now=now):
            return False
        name = watermark_name(slot.schedule.name)
        current = _parse_watermark(await tx.watermarks.get(WATERMARK_SERVICE, connection_id, name))
        if current is None or current < slot.due_at:
            await tx.watermarks.set(
                WATERMARK_SERVICE, connection_id, name, slot.due_at.isoformat(), now=now
            )
        return True


async def _fire_connection(
    store: StateStore,
    publisher: TickPublisher,
    connection: ConnectionRecord,
    schedules: tuple[Schedule, ...],
    *,
    topic: str,
    clock: Clock,
    holder_id: str,
    ttl: timedelta,
) -> list[FiredTick]:
    due = await _claim_connection(
        store, connection, schedules, holder_id=holder_id, now=clock(), ttl=ttl
    )
    fired: list[FiredTick] = []
    for slot in due or ():
        log = _log.bind(
            connection_id=connection.id,
            schedule=slot.schedule.name,
            due_at=slot.due_at.isoformat(),
        )
        try:
            published = await publisher(
                _make_tick(connection, slot.schedule, slot.due_at), topic=topic
            )
        except Exception:
            # Not acknowledged, so the watermark stays behind and the next cycle
            # publishes this slot again; later schedules wait for that cycle too.
            log.exception("schedule.publish_failed", topic=topic)
            break
        fired.append(FiredTick(tick=published, skipped_slots=slot.skipped_slots))
        if slot.skipped_slots:
            log.warning("schedule.slots_skipped", skipped_slots=slot.skipped_slots)
        if not await _record_fired(
            store, connection.id, slot, holder_id=holder_id, now=clock(), ttl=ttl
        ):
            # Another replica owns the connection now and will publish this slot
            # again (a duplicate consumers drop); stop before publishing more.
            log.warning("schedule.lease_lost_after_publish", holder_id=holder_id)
            break
        log.info("schedule.tick_published", kind=slot.schedule.kind, topic=topic)
    return fired


async def fire_due_ticks(
    *,
    store: StateStore,
    publisher: TickPublisher,
    clock: Clock,
    holder_id: str,
    settings: SchedulerSettings,
) -> list[FiredTick]:
    """One scheduling cycle: publish every due tick of the connections whose lease we get.

    ``holder_id`` must be unique per concurrently running caller (one per
    replica's loop, see :func:`default_holder_id`): a lease is re-entrant for
    its holder, so two loops sharing an id would both fire. A connection with
    an invalid schedule or an unknown vendor is logged and left out; the
    others still fire. A failed publish stops that connection for this cycle
    (its watermark is untouched, so the next cycle retries the slot) and is
    logged; the other connections still fire.
    """
    async with store.transaction() as tx:
        connections = await tx.connections.list()
    fired: list[FiredTick] = []
    for connection in connections:
        if connection.status != ACTIVE_STATUS:
            continue
        try:
            schedules = schedules_of(connection.settings).enabled
            topic = _raw_topic_of(connection.vendor) if schedules else ""
        except (ScheduleSpecError, KeyError) as exc:
            _log.error(
                "schedule.connection_not_schedulable",
                connection_id=connection.id,
                vendor=connection.vendor,
                error=str(exc),
            )
            continue
        if not schedules:
            continue
        try:
            fired += await _fire_connection(
                store,
                publisher,
                connection,
                schedules,
                topic=topic,
                clock=clock,
                holder_id=holder_id,
                ttl=settings.lease_ttl,
            )
        except Exception:
            # The store failed; the next cycle starts from the watermarks again.
            _log.exception("schedule.connection_failed", connection_id=connection.id)
    return fired


async def release_leases(store: StateStore, *, holder_id: str) -> int:
    """Give back every schedule lease ``holder_id`` holds, so another replica takes over now."""
    async with store.transaction() as tx:
        released = 0
        for connection in await tx.connections.list():
            released += await tx.leases.release(lease_name(connection.id), holder_id)
        return released


async def run_scheduler(
    *,
    store: StateStore,
    publisher: TickPublisher,
    holder_id: str,
    settings: SchedulerSettings,
    stop: asyncio.Event,
    clock: Clock = utcnow,
    pruner: LedgerPruner | None = None,
) -> None:
    """Run :func:`fire_due_ticks` every ``check_interval_seconds`` until ``stop`` is set.

    With a ``pruner`` each cycle also prunes the webhook ledger (one replica at a time,
    under its own lease; see :mod:`services.ingest.ledger_pruning`).

    Meant to be started as a task in the ingest app's lifespan, with
    ``publisher=kafka_tick_publisher(broker)``. A cycle that fails (the store
    unreachable, say) is logged and the next one tries again. On the way out
    this replica's leases are released. With ``MLC_SCHEDULER_ENABLED=false``
    it returns at once (a replica that serves webhooks only).
    """
    if not settings.enabled:
        _log.info("schedule.disabled", holder_id=holder_id)
        return
    _log.info("schedule.started", holder_id=holder_id)
    try:
        while not stop.is_set():
            try:
                await fire_due_ticks(
                    store=store,
                    publisher=publisher,
                    clock=clock,
                    holder_id=holder_id,
                    settings=settings,
                )
            except Exception:
                _log.exception("schedule.cycle_failed", holder_id=holder_id)
            if pruner is not None:
                try:
                    await pruner.run_once(store, holder_id=holder_id, now=clock())
                except Exception:
                    _log.exception("ledger.prune_failed", holder_id=holder_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.check_interval_seconds)  # poll
    finally:
        try:
            await release_leases(store, holder_id=holder_id)
            if pruner is not None:
                await pruner.release(store, holder_id=holder_id)
        except Exception:
            _log.exception("schedule.release_failed", holder_id=holder_id)
        _log.info("schedule.stopped", holder_id=holder_id)


@asynccontextmanager
async def scheduler_running(
    *,
    store: StateStore,
    publisher: TickPublisher,
    settings: SchedulerSettings,
    holder_id: str | None = None,
    clock: Clock = utcnow,
    pruner: LedgerPruner | None = None,
) -> AsyncIterator[asyncio.Task[None]]:
    """:func:`run_scheduler` as a background task for the block's duration (an app lifespan part).

    Leaving the block stops the loop, waits for it to release its leases, and
    re-raises whatever ended the loop early.
    """
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_scheduler(
            store=store,
            publisher=publisher,
            holder_id=holder_id or default_holder_id(),
            settings=settings,
            stop=stop,
            clock=clock,
            pruner=pruner,
        ),
        name="ingest-scheduler",
    )
    try:
        yield task
    finally:
        stop.set()
        await task


def _raw_topic_of(vendor: str) -> str:
    """The vendor's raw topic; a KeyError for a vendor the registry does not know (its
    ticks would go to a topic nobody created or reads)."""
    if vendor not in VENDORS:
        msg = f"unknown vendor {vendor!r}; known: {', '.join(VENDORS)}"
        raise KeyError(msg)
    return raw_topic(vendor)
