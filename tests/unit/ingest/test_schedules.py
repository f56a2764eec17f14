"""Schedules as events: due slots become ticks once, under a lease, across restarts.

The store is a real SQLite file (two engines on it stand for two replicas);
the bus is a recording publisher, the one edge these tests do not reach.
tests/integration/ingest/test_schedules_*.py repeat the races on PostgreSQL
and publish to the real Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sandboxes.kit import wait_until
from schemas.raw import PollTick, ReconcileTick
from services.ingest.schedules import (
    WATERMARK_SERVICE,
    FiredTick,
    SchedulerSettings,
    fire_due_ticks,
    lease_name,
    run_scheduler,
    scheduler_running,
    watermark_name,
)
from services.runtime.store import StateStore
from tests.unit.ingest.schedule_harness import (
    POLL_EVERY_S,
    SCHEDULES,
    SETTINGS,
    START,
    ManualClock,
    RecordingPublisher,
)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
async def open_store(database_url: str) -> AsyncIterator[Callable[[], Awaitable[StateStore]]]:
    """Open another engine on the same file: a second replica, or the same one restarted."""
    opened: list[StateStore] = []

    async def open_one() -> StateStore:
        store = await StateStore.open(database_url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


async def add_connection(
    store: StateStore,
    *,
    settings: dict[str, Any] | None = None,
    vendor: str = "expensify",
    status: str = "active",
    connection_id: str = "conn-1",
) -> None:
    async with store.transaction() as tx:
        await tx.connections.create(
            vendor=vendor,
            tenant_id="tenant-a",
            display_name=connection_id,
            settings=SCHEDULES if settings is None else settings,
            status=status,
            connection_id=connection_id,
            now=START,
        )


async def fire(
    store: StateStore, publisher: RecordingPublisher, clock: ManualClock, holder: str
) -> list[FiredTick]:
    return await fire_due_ticks(
        store=store, publisher=publisher, clock=clock, holder_id=holder, settings=SETTINGS
    )


async def watermark(store: StateStore, schedule: str, connection_id: str = "conn-1") -> str | None:
    async with store.transaction() as tx:
        return await tx.watermarks.get(WATERMARK_SERVICE, connection_id, watermark_name(schedule))


async def test_a_due_tick_is_published_to_the_vendors_raw_topic_with_its_slot(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store)
    publisher, clock = RecordingPublisher(), ManualClock()

    fired = await fire(store, publisher, clock, "replica-a")

    assert [f.skipped_slots for f in fired] == [0, 0]
    (poll_topic, poll), (reconcile_topic, reconcile) = publisher.sent
    assert (poll_topic, reconcile_topic) == ("raw.expensify", "raw.expensify")
    assert isinstance(poll, PollTick)
    assert isinstance(reconcile, ReconcileTick)
    assert poll.due_at == "2026-11-23T01:00:00+00:00"
    assert poll.occurred_at == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert (poll.connection_id, poll.tenant_id, poll.vendor) == ("conn-1", "tenant-a", "expensify")
    assert poll.key == "conn-1:tick:poll"
    assert reconcile.key == "conn-1:tick:reconcile"
    assert await watermark(store, "poll") == "2026-11-23T01:00:00+00:00"


async def test_nothing_is_published_again_until_the_next_slot(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store)
    publisher, clock = RecordingPublisher(), ManualClock()
    await fire(store, publisher, clock, "replica-a")

    clock.advance(POLL_EVERY_S - 31)
    assert await fire(store, publisher, clock, "replica-a") == []
    clock.advance(1)
    fired = await fire(store, publisher, clock, "replica-a")

    assert [(f.tick.schedule, f.tick.due_at) for f in fired] == [
        ("poll", "2026-11-23T01:05:00+00:00")
    ]


async def test_two_replicas_racing_over_the_same_slots_publish_each_tick_once(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    replica_a, replica_b = await open_store(), await open_store()
    for number in range(3):
        await add_connection(replica_a, connection_id=f"conn-{number}")
    publisher, clock = RecordingPublisher(), ManualClock()

    for _ in range(14):
        await asyncio.gather(
            fire(replica_a, publisher, clock, "replica-a"),
            fire(replica_b, publisher, clock, "replica-b"),
        )
        clock.advance(POLL_EVERY_S)

    slots = publisher.slots()
    assert len(slots) == len(set(slots))
    # 14 poll slots and 2 reconcile slots (01:00, 02:00) per connection, none missing.
    assert len(slots) == 3 * (14 + 2)


async def test_a_restarted_replica_neither_refires_a_fired_slot_nor_skips_a_due_one(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    before = await open_store()
    await add_connection(before)
    publisher, clock = RecordingPublisher(), ManualClock()
    await fire(before, publisher, clock, "replica-a")
    await before.close()

    after = await open_store()
    assert await fire(after, publisher, clock, "replica-a-restarted") == []
    clock.advance(POLL_EVERY_S)
    fired = await fire(after, publisher, clock, "replica-a-restarted")

    assert [f.tick.due_at for f in fired] == ["2026-11-23T01:05:00+00:00"]
    assert len(publisher.slots()) == len(set(publisher.slots())) == 3


async def test_another_replica_takes_over_once_the_dead_holders_lease_expires(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    replica_a, replica_b = await open_store(), await open_store()
    await add_connection(replica_a, settings={"schedules": [SCHEDULES["schedules"][0]]})
    publisher, clock = RecordingPublisher(), ManualClock()
    takeover = SchedulerSettings(check_interval_seconds=5, lease_seconds=2 * POLL_EVERY_S)
    await fire_due_ticks(
        store=replica_a, publisher=publisher, clock=clock, holder_id="replica-a", settings=takeover
    )
    # replica-a dies here: it never renews its lease again.

    clock.advance(POLL_EVERY_S)  # 01:05 is due; the lease runs until 01:10:30
    blocked = await fire_due_ticks(
        store=replica_b, publisher=publisher, clock=clock, holder_id="replica-b", settings=takeover
    )
    clock.advance(POLL_EVERY_S + 1)
    fired = await fire_due_ticks(
        store=replica_b, publisher=publisher, clock=clock, holder_id="replica-b", settings=takeover
    )

    assert blocked == []
    assert [(f.tick.schedule, f.tick.due_at, f.skipped_slots) for f in fired] == [
        ("poll", "2026-11-23T01:10:00+00:00", 1)
    ]
    async with replica_b.transaction() as tx:
        lease = await tx.leases.get(lease_name("conn-1"))
    assert lease is not None
    assert lease.holder == "replica-b"


async def test_after_downtime_only_the_latest_missed_slot_fires_and_the_skipped_are_counted(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store)
    publisher, clock = RecordingPublisher(), ManualClock()
    await fire(store, publisher, clock, "replica-a")

    clock.advance(2 * 3600 + 100)
    fired = await fire(store, publisher, clock, "replica-a")

    assert [(f.tick.schedule, f.tick.due_at, f.skipped_slots) for f in fired] == [
        ("poll", "2026-11-23T03:00:00+00:00", 23),
        ("reconcile", "2026-11-23T03:00:00+00:00", 1),
    ]


async def test_a_crash_between_ack_and_commit_republishes_the_same_slot_and_skips_nothing(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store, settings={"schedules": [SCHEDULES["schedules"][0]]})
    clock = ManualClock()
    crashing = RecordingPublisher(fail_after_ack=True)
    assert await fire(store, crashing, clock, "replica-a") == []
    assert await watermark(store, "poll") is None

    restarted = await open_store()
    publisher = RecordingPublisher()
    clock.advance(SETTINGS.lease_seconds)
    fired = await fire(restarted, publisher, clock, "replica-a-restarted")

    assert crashing.slots() == publisher.slots() == [("conn-1", "poll", fired[0].tick.due_at)]
    assert fired[0].tick.due_at == "2026-11-23T01:00:00+00:00"
    assert await watermark(restarted, "poll") == "2026-11-23T01:00:00+00:00"


async def test_a_holder_that_lost_its_lease_while_publishing_leaves_the_watermark_to_the_new_one(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    replica_a, replica_b = await open_store(), await open_store()
    await add_connection(replica_a, settings={"schedules": [SCHEDULES["schedules"][0]]})
    clock = ManualClock()
    publisher_b = RecordingPublisher()
    stalled_results: list[list[FiredTick]] = []

    async def stall_past_the_lease() -> None:
        # replica-a hangs in the publish until its lease expired and replica-b took over.
        publisher_a.on_publish = None
        clock.advance(SETTINGS.lease_seconds + 1)
        stalled_results.append(await fire(replica_b, publisher_b, clock, "replica-b"))

    publisher_a = RecordingPublisher(on_publish=stall_past_the_lease)
    fired_a = await fire(replica_a, publisher_a, clock, "replica-a")

    # The documented window: the slot went out twice, consumers drop the second.
    assert (
        publisher_a.slots() == publisher_b.slots() == [("conn-1", "poll", fired_a[0].tick.due_at)]
    )
    assert [f.tick.due_at for f in stalled_results[0]] == [fired_a[0].tick.due_at]
    async with replica_a.transaction() as tx:
        lease = await tx.leases.get(lease_name("conn-1"))
    assert lease is not None
    assert lease.holder == "replica-b"
    assert await watermark(replica_a, "poll") == fired_a[0].tick.due_at


async def test_paused_connections_disabled_schedules_and_bad_settings_fire_nothing_and_block_no_one(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store, connection_id="paused", status="paused")
    await add_connection(
        store,
        connection_id="disabled",
        settings={"schedules": [{**SCHEDULES["schedules"][0], "enabled": False}]},
    )
    await add_connection(store, connection_id="broken", settings={"schedules": [{"name": "x"}]})
    await add_connection(store, connection_id="unknown-vendor", vendor="nosuchvendor")
    await add_connection(store, connection_id="healthy")
    publisher = RecordingPublisher()

    await fire(store, publisher, ManualClock(), "replica-a")

    assert {connection for connection, _, _ in publisher.slots()} == {"healthy"}


async def test_a_failed_publish_leaves_the_slot_due_for_the_next_cycle(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store)
    clock = ManualClock()
    await fire(store, RecordingPublisher(fail_after_ack=True), clock, "replica-a")

    clock.advance(SETTINGS.check_interval_seconds)
    fired = await fire(store, RecordingPublisher(), clock, "replica-a")

    assert [(f.tick.schedule, f.tick.due_at) for f in fired] == [
        ("poll", "2026-11-23T01:00:00+00:00"),
        ("reconcile", "2026-11-23T01:00:00+00:00"),
    ]


def test_a_lease_shorter_than_three_check_intervals_is_refused() -> None:
    with pytest.raises(ValueError, match="MLC_SCHEDULER_LEASE_SECONDS"):
        SchedulerSettings(check_interval_seconds=10, lease_seconds=20)


async def test_the_loop_fires_on_the_real_clock_until_stopped_and_then_releases_its_lease(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(
        store, settings={"schedules": [{"name": "fast", "kind": "poll", "every_seconds": 1}]}
    )
    publisher = RecordingPublisher()
    stop = asyncio.Event()
    loop = asyncio.create_task(
        run_scheduler(
            store=store,
            publisher=publisher,
            holder_id="replica-loop",
            settings=SchedulerSettings(check_interval_seconds=0.05, lease_seconds=5),
            stop=stop,
        )
    )
    try:
        await wait_until(
            lambda: len({due_at for _, _, due_at in publisher.slots()}) >= 2,
            timeout_seconds=30,
            message="two consecutive one-second slots to be published",
            details=lambda: repr(publisher.slots()),
        )
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10)

    slots = publisher.slots()
    assert len(slots) == len(set(slots))
    async with store.transaction() as tx:
        assert await tx.leases.get(lease_name("conn-1")) is None


async def test_a_replica_with_the_scheduler_disabled_returns_at_once_and_fires_nothing(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store)
    publisher = RecordingPublisher()

    await asyncio.wait_for(
        run_scheduler(
            store=store,
            publisher=publisher,
            holder_id="webhooks-only",
            settings=SchedulerSettings(enabled=False),
            stop=asyncio.Event(),
        ),
        timeout=10,
    )

    assert publisher.sent == []


async def test_when_the_second_publish_fails_the_first_tick_counts_and_the_second_stays_due(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store)
    clock = ManualClock()

    first_cycle = await fire(store, RecordingPublisher(accept_only=1), clock, "replica-a")

    assert [f.tick.schedule for f in first_cycle] == ["poll"]
    assert await watermark(store, "poll") == "2026-11-23T01:00:00+00:00"
    assert await watermark(store, "reconcile") is None
    second_cycle = await fire(store, RecordingPublisher(), clock, "replica-a")
    assert [(f.tick.schedule, f.tick.due_at) for f in second_cycle] == [
        ("reconcile", "2026-11-23T01:00:00+00:00")
    ]


async def test_the_lifespan_part_runs_the_loop_inside_the_block_and_stops_it_on_exit(
    open_store: Callable[[], Awaitable[StateStore]],
) -> None:
    store = await open_store()
    await add_connection(store)
    publisher = RecordingPublisher()

    async with scheduler_running(
        store=store,
        publisher=publisher,
        settings=SchedulerSettings(check_interval_seconds=0.05, lease_seconds=5),
        holder_id="replica-lifespan",
    ) as task:
        await wait_until(
            lambda: len(publisher.sent) >= 2,
            timeout_seconds=30,
            message="the poll and reconcile ticks",
            details=lambda: repr(publisher.slots()),
        )
        assert not task.done()

    assert task.done()
    async with store.transaction() as tx:
        assert await tx.leases.get(lease_name("conn-1")) is None
