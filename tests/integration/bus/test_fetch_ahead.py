"""A consumer holds at most ``FETCH_AHEAD_BYTES`` of a partition ahead of its handlers, and
a record bigger than that still arrives, whole and in its place: the bound is on memory,
never on what is delivered (one at a time and in batches)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from sandboxes.kit import wait_until
from schemas.raw import PollTick
from services.runtime.bus import (
    FETCH_AHEAD_BYTES,
    Consuming,
    create_broker,
    record_subscriber,
    subscriber,
)
from services.runtime.publishing import publish
from services.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.kafka

BIG = FETCH_AHEAD_BYTES * 2 + 1000  # characters of a record's due_at: twice the fetch-ahead
SIZES = [10, BIG, 10, BIG, BIG, 10]


def _tick(number: int, size: int) -> PollTick:
    # The number leads, the padding makes the size: both survive only if the record is whole.
    return PollTick(
        connection_id="conn-big",
        entity_key="employee-1",  # one key, one partition: the order is checkable
        occurred_at=datetime.now(UTC),
        vendor="probe",
        schedule="changes",
        due_at=f"{number}:" + "x" * size,
    )


def _received(event: PollTick) -> tuple[int, int]:
    number, padding = event.due_at.split(":", 1)
    return int(number), len(padding)


@pytest.mark.parametrize("batched", [False, True], ids=["one-at-a-time", "batches"])
async def test_records_bigger_than_the_fetch_ahead_arrive_whole_and_in_order(
    batched: bool,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("fetch-ahead", partitions=1)
    settings = RuntimeSettings(
        service_name=unique_name("fetch-ahead"), kafka_bootstrap_servers=kafka_bootstrap
    )
    broker = create_broker(settings, dead_letter_topic=await kafka_topic("fetch-ahead-dlq"))
    received: list[tuple[int, int]] = []

    async def handle(event: PollTick) -> None:
        received.append(_received(event))

    if batched:
        record_subscriber(
            broker,
            topic,
            PollTick,
            group_id=settings.service_name,
            consuming=Consuming(batch=100, lanes=4),
        )(handle)
    else:
        subscriber(broker, topic, group_id=settings.service_name)(handle)

    await broker.start()
    try:
        for number, size in enumerate(SIZES):
            await publish(broker, _tick(number, size), topic=topic)
        await wait_until(
            lambda: len(received) >= len(SIZES),
            timeout_seconds=60,
            message=f"{len(SIZES)} records handled",
            details=lambda: f"handled {[number for number, _ in received]}",
        )
    finally:
        await broker.stop()

    assert received == list(enumerate(SIZES))
