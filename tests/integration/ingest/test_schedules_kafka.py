"""Ticks land on the real Kafka: raw.<vendor>, keyed by connection and schedule, envelope filled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from sandboxes.kit import wait_until
from schemas import decode_event
from schemas.raw import PollTick, ReconcileTick
from services.ingest.schedules import (
    SchedulerSettings,
    fire_due_ticks,
    kafka_tick_publisher,
    run_scheduler,
)
from services.runtime.bus import create_broker
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore
from tests.unit.ingest.schedule_harness import SCHEDULES, START, ManualClock

pytestmark = pytest.mark.kafka

TOPIC = "raw.expensify"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    try:
        yield opened
    finally:
        await opened.close()


class RawTopicReader:
    """Reads raw.expensify from the beginning, keeping one connection's records."""

    def __init__(self, bootstrap: str, connection_id: str) -> None:
        self._consumer = AIOKafkaConsumer(
            TOPIC, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        self._prefix = f"{connection_id}:".encode()
        self.records: list[ConsumerRecord[bytes, bytes]] = []

    async def __aenter__(self) -> RawTopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def read_until(self, count: int) -> None:
        async def enough() -> bool:
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                self.records += [r for r in records if (r.key or b"").startswith(self._prefix)]
            return len(self.records) >= count

        await wait_until(
            enough,
            timeout_seconds=30,
            message=f"{count} ticks on {TOPIC}",
            details=lambda: f"got {[r.key for r in self.records]}",
        )


async def add_connection(store: StateStore, connection_id: str, settings: dict[str, Any]) -> None:
    async with store.transaction() as tx:
        await tx.connections.create(
            vendor="expensify",
            tenant_id="tenant-k",
            display_name="expensify",
            settings=settings,
            connection_id=connection_id,
            now=START,
        )


async def test_due_ticks_are_on_the_raw_topic_with_key_and_envelope_after_the_ack(
    kafka_bootstrap: str, store: StateStore, unique_name: Callable[[str], str]
) -> None:
    connection_id = unique_name("conn")[-40:]
    await add_connection(store, connection_id, SCHEDULES)
    broker = create_broker(
        RuntimeSettings(service_name="ingest", kafka_bootstrap_servers=kafka_bootstrap)
    )
    await broker.start()
    try:
        fired = await fire_due_ticks(
            store=store,
            publisher=kafka_tick_publisher(broker),
            clock=ManualClock(),
            holder_id="replica-k",
            settings=SchedulerSettings(),
        )
    finally:
        await broker.stop()

    async with RawTopicReader(kafka_bootstrap, connection_id) as reader:
        await reader.read_until(2)

    assert sorted(r.key for r in reader.records) == [
        f"{connection_id}:tick:poll".encode(),
        f"{connection_id}:tick:reconcile".encode(),
    ]
    events = {r.key: decode_event(r.value) for r in reader.records}
    poll = events[f"{connection_id}:tick:poll".encode()]
    reconcile = events[f"{connection_id}:tick:reconcile".encode()]
    assert isinstance(poll, PollTick)
    assert isinstance(reconcile, ReconcileTick)
    assert poll == fired[0].tick
    assert (poll.connection_id, poll.tenant_id, poll.vendor) == (
        connection_id,
        "tenant-k",
        "expensify",
    )
    assert (poll.schedule, poll.due_at) == ("poll", "2026-11-23T01:00:00+00:00")
    assert poll.correlation_id == poll.event_id
    headers = dict(reader.records[0].headers)
    assert headers["content-type"] == b"application/json"


async def test_the_running_loop_publishes_each_one_second_slot_once_to_kafka(
    kafka_bootstrap: str, store: StateStore, unique_name: Callable[[str], str]
) -> None:
    connection_id = unique_name("conn")[-40:]
    await add_connection(
        store, connection_id, {"schedules": [{"name": "fast", "kind": "poll", "every_seconds": 1}]}
    )
    broker = create_broker(
        RuntimeSettings(service_name="ingest", kafka_bootstrap_servers=kafka_bootstrap)
    )
    stop = asyncio.Event()
    await broker.start()
    try:
        async with RawTopicReader(kafka_bootstrap, connection_id) as reader:
            loop = asyncio.create_task(
                run_scheduler(
                    store=store,
                    publisher=kafka_tick_publisher(broker),
                    holder_id="replica-loop",
                    settings=SchedulerSettings(check_interval_seconds=0.1, lease_seconds=5),
                    stop=stop,
                )
            )
            try:
                await reader.read_until(3)
            finally:
                stop.set()
                await asyncio.wait_for(loop, timeout=10)
    finally:
        await broker.stop()

    ticks = [decode_event(r.value) for r in reader.records]
    due_ats = [tick.due_at for tick in ticks if isinstance(tick, PollTick)]
    assert len(due_ats) == len(ticks)
    assert len(due_ats) == len(set(due_ats)), f"a slot was published twice: {due_ats}"
