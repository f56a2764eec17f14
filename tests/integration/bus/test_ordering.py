"""A round trip through Kafka keeps each record's events in order, across partitions."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Literal

import pytest
from faststream.kafka import ConsumerRecord
from faststream.kafka.annotations import KafkaMessage

from sandboxes.kit import wait_until
from schemas.envelope import Event
from services.runtime.bus import create_broker, subscriber
from services.runtime.publishing import publish
from services.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.kafka

KEYS = 40
EVENTS_PER_KEY = 8
PARTITIONS = 6


class SequenceProbe(Event):
    """A test-only event: the n-th change of one record."""

    type: Literal["SequenceProbe"] = "SequenceProbe"
    sequence: int


async def test_each_keys_events_arrive_in_the_order_they_were_published(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("ordering", partitions=PARTITIONS)
    dead_letters = await kafka_topic("ordering-dlq")
    settings = RuntimeSettings(
        service_name=unique_name("ordering-service"), kafka_bootstrap_servers=kafka_bootstrap
    )
    broker = create_broker(settings, dead_letter_topic=dead_letters)
    received: dict[str, list[int]] = defaultdict(list)
    partitions_of: dict[str, set[int]] = defaultdict(set)

    @subscriber(broker, topic, group_id=settings.service_name)
    async def record(event: SequenceProbe, message: KafkaMessage) -> None:
        received[event.key].append(event.sequence)
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        partitions_of[event.key].add(record.partition)

    async def publish_changes_of(entity: int) -> None:
        for sequence in range(EVENTS_PER_KEY):
            probe = SequenceProbe(
                connection_id="conn-7",
                entity_key=f"employee-{entity}",
                occurred_at=datetime.now(UTC),
                sequence=sequence,
            )
            await publish(broker, probe, topic=topic)

    await broker.start()
    try:
        # Keys are published concurrently, so the partitions' logs interleave them.
        await asyncio.gather(*(publish_changes_of(entity) for entity in range(KEYS)))
        await wait_until(
            lambda: sum(map(len, received.values())) >= KEYS * EVENTS_PER_KEY,
            timeout_seconds=60,
            message=f"{KEYS * EVENTS_PER_KEY} events to come back",
            details=lambda: f"received {sum(map(len, received.values()))}",
        )
    finally:
        await broker.stop()

    assert len(received) == KEYS
    for key, sequences in received.items():
        assert sequences == list(range(EVENTS_PER_KEY)), key
        assert len(partitions_of[key]) == 1, f"{key} was spread over {partitions_of[key]}"
    used = set().union(*partitions_of.values())
    assert len(used) > 1, "every key landed on one partition: the test shows nothing"
