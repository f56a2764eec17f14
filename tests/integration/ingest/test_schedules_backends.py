"""Two scheduler replicas on one state store, on SQLite and on PostgreSQL.

Each replica has its own engine (its own connection pool), as two processes
would; the clock is shared and moved by hand, so the races are over the same
due slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from services.ingest.schedules import SchedulerSettings, fire_due_ticks, lease_name
from services.runtime.store import StateStore
from tests.unit.ingest.schedule_harness import (
    POLL_EVERY_S,
    SCHEDULES,
    START,
    ManualClock,
    RecordingPublisher,
)

SETTINGS = SchedulerSettings(check_interval_seconds=5, lease_seconds=60)
CONNECTIONS = 4
ROUNDS = 13


@pytest.fixture
async def open_replica(
    database_url: str,
) -> AsyncIterator[Callable[[], Awaitable[StateStore]]]:
    opened: list[StateStore] = []

    async def open_one() -> StateStore:
        store = await StateStore.open(database_url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


async def add_connections(store: StateStore, count: int) -> None:
    async with store.transaction() as tx:
        for number in range(count):
            await tx.connections.create(
                vendor="bamboohr",
                tenant_id="tenant-a",
                display_name=f"conn-{number}",
                settings=SCHEDULES,
                connection_id=f"conn-{number}",
                now=START,
            )


async def test_two_replicas_racing_publish_every_due_tick_exactly_once(
    open_replica: Callable[[], Awaitable[StateStore]],
) -> None:
    replica_a, replica_b = await open_replica(), await open_replica()
    await add_connections(replica_a, CONNECTIONS)
    publisher, clock = RecordingPublisher(), ManualClock()

    for _ in range(ROUNDS):
        await asyncio.gather(
            *(
                fire_due_ticks(
                    store=store,
                    publisher=publisher,
                    clock=clock,
                    holder_id=holder,
                    settings=SETTINGS,
                )
                # Four replicas, two per engine; a holder id is unique per running loop.
                for store, holder in (
                    (replica_a, "replica-a1"),
                    (replica_a, "replica-a2"),
                    (replica_b, "replica-b1"),
                    (replica_b, "replica-b2"),
                )
            )
        )
        clock.advance(POLL_EVERY_S)

    slots = publisher.slots()
    assert len(slots) == len(set(slots)), "a slot was published twice"
    # 13 five-minute slots from 01:00 to 02:00 and the hourly slots 01:00 and 02:00.
    assert len(slots) == CONNECTIONS * (ROUNDS + 2)


async def test_a_restart_on_the_same_store_neither_refires_nor_skips(
    open_replica: Callable[[], Awaitable[StateStore]],
) -> None:
    first = await open_replica()
    await add_connections(first, 1)
    publisher, clock = RecordingPublisher(), ManualClock()
    await fire_due_ticks(
        store=first, publisher=publisher, clock=clock, holder_id="first", settings=SETTINGS
    )
    await first.close()

    restarted = await open_replica()
    again = await fire_due_ticks(
        store=restarted, publisher=publisher, clock=clock, holder_id="second", settings=SETTINGS
    )
    clock.advance(SETTINGS.lease_seconds + POLL_EVERY_S)
    after_one_slot = await fire_due_ticks(
        store=restarted, publisher=publisher, clock=clock, holder_id="second", settings=SETTINGS
    )

    assert again == []
    assert [(f.tick.schedule, f.tick.due_at, f.skipped_slots) for f in after_one_slot] == [
        ("poll", "2026-11-23T01:05:00+00:00", 0)
    ]


async def test_a_replica_takes_the_lease_over_only_after_the_dead_holder_lets_it_expire(
    open_replica: Callable[[], Awaitable[StateStore]],
) -> None:
    replica_a, replica_b = await open_replica(), await open_replica()
    await add_connections(replica_a, 1)
    publisher, clock = RecordingPublisher(), ManualClock()
    takeover = SchedulerSettings(check_interval_seconds=5, lease_seconds=2 * POLL_EVERY_S)
    await fire_due_ticks(
        store=replica_a, publisher=publisher, clock=clock, holder_id="replica-a", settings=takeover
    )
    # replica-a dies here and never renews.

    clock.advance(POLL_EVERY_S)  # the 01:05 slot is due, but the lease runs until 01:10:30
    blocked = await fire_due_ticks(
        store=replica_b, publisher=publisher, clock=clock, holder_id="replica-b", settings=takeover
    )
    clock.advance(POLL_EVERY_S + 1)
    taken_over = await fire_due_ticks(
        store=replica_b, publisher=publisher, clock=clock, holder_id="replica-b", settings=takeover
    )

    assert blocked == []
    assert [(f.tick.due_at, f.skipped_slots) for f in taken_over] == [
        ("2026-11-23T01:10:00+00:00", 1)
    ]
    async with replica_b.transaction() as tx:
        lease = await tx.leases.get(lease_name("conn-0"))
    assert lease is not None
    assert lease.holder == "replica-b"
