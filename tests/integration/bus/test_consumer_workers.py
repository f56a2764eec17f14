"""``subscriber(workers=N)``: one process handles different partitions at once, and each
record's events (one partition) still in order, committed after handling."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Literal

import pytest

from sandboxes.kit import wait_until
from schemas.envelope import Event
from services.runtime.bus import create_broker, subscriber
from services.runtime.consumer_lag import consumer_lag
from services.runtime.health import group_consumers, partitions_assigned
from services.runtime.publishing import publish
from services.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.kafka

PARTITIONS = 6
WORKERS = 3
KEYS = 24
EVENTS_PER_KEY = 5


class WorkerProbe(Event):
    """A test-only event: the n-th change of one record."""

    type: Literal["WorkerProbe"] = "WorkerProbe"
    sequence: int


async def test_workers_share_the_partitions_handle_them_at_once_and_keep_each_records_order(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("workers", partitions=PARTITIONS)
    dead_letters = await kafka_topic("workers-dlq")
    settings = RuntimeSettings(
        service_name=unique_name("workers-service"), kafka_bootstrap_servers=kafka_bootstrap
    )
    broker = create_broker(settings, dead_letter_topic=dead_letters)
    received: dict[str, list[int]] = defaultdict(list)
    in_flight = 0
    most_at_once = 0
    overlapped = asyncio.Event()

    @subscriber(broker, topic, group_id=settings.service_name, workers=WORKERS)
    async def record(event: WorkerProbe) -> None:
        nonlocal in_flight, most_at_once
        in_flight += 1
        most_at_once = max(most_at_once, in_flight)
        if in_flight > 1:
            overlapped.set()
        try:
            if event.sequence == 0:
                # The first change of each record waits (up to a deadline) for another
                # handler to run beside it: with one consumer at a time none ever would.
                await asyncio.wait_for(overlapped.wait(), timeout=20)
            received[event.key].append(event.sequence)
        finally:
            in_flight -= 1

    await broker.start()
    try:
        consumers = [c for c in group_consumers(broker) if c is not None]
        assert len(consumers) == WORKERS

        def settled() -> bool:
            # Publish once the group is stable: a rebalance mid-run would redeliver.
            held = [len(c.assignment()) for c in consumers]
            return all(held) and sum(held) == PARTITIONS

        await wait_until(settled, timeout_seconds=60, message="every worker holding partitions")
        assert await partitions_assigned(broker)() is None
        for sequence in range(EVENTS_PER_KEY):
            await asyncio.gather(
                *(
                    publish(
                        broker,
                        WorkerProbe(
                            connection_id="conn-7",
                            entity_key=f"employee-{n}",
                            occurred_at=datetime.now(UTC),
                            sequence=sequence,
                        ),
                        topic=topic,
                    )
                    for n in range(KEYS)
                )
            )
        await wait_until(
            lambda: sum(map(len, received.values())) >= KEYS * EVENTS_PER_KEY,
            timeout_seconds=60,
            message=f"{KEYS * EVENTS_PER_KEY} events handled",
            details=lambda: f"handled {sum(map(len, received.values()))}",
        )

        async def nothing_behind() -> dict[tuple[str, ...], float] | None:
            lags = await consumer_lag(broker)
            return lags if len(lags) == PARTITIONS and not any(lags.values()) else None

        # Each worker committed its partitions after handling them: the group is behind on
        # none, and every partition is counted once, by the worker holding it.
        await wait_until(nothing_behind, timeout_seconds=30, message="every offset committed")
    finally:
        await broker.stop()

    assert most_at_once > 1
    assert len(received) == KEYS
    for key, sequences in received.items():
        assert sequences == list(range(EVENTS_PER_KEY)), key
