"""A producer that can no longer send is replaced, once, and the send goes through.

aiokafka ends an idempotent producer when the broker answers ``OutOfOrderSequenceNumber``
(a broker restarted with batches in flight): it fails every pending and later send with
that error. Provoking that answer needs a broker restart at the right instant, which the
suite's shared broker cannot have (``make chaos``'s R2 does it); here the producer is
ended the way aiokafka ends it, and the real broker must then receive every event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import OutOfOrderSequenceNumber

from schemas.envelope import Event
from services.runtime.bus import create_broker
from services.runtime.producer_renewal import renewal_of
from services.runtime.publishing import publish
from services.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.kafka


class RenewalProbe(Event):
    """A test-only event: the n-th send."""

    type: Literal["RenewalProbe"] = "RenewalProbe"
    n: int


def _probe(n: int) -> RenewalProbe:
    return RenewalProbe(
        connection_id="c-1", entity_key=f"send-{n}", occurred_at=datetime.now(UTC), n=n
    )


def _end_the_producer(broker: Any) -> None:
    """What aiokafka's sender does when the broker answers OutOfOrderSequenceNumber."""
    accumulator = broker.config.producer._producer.producer._message_accumulator
    accumulator.fail_all(OutOfOrderSequenceNumber())


async def _values(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        found: list[bytes] = []
        async with asyncio.timeout(60):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=500)
                found += [record.value or b"" for records in batch.values() for record in records]
        return found
    finally:
        await consumer.stop()


async def test_sends_after_the_producer_was_ended_renew_it_once_and_all_arrive(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("renewal")
    settings = RuntimeSettings(
        service_name=unique_name("edge"), kafka_bootstrap_servers=kafka_bootstrap
    )
    broker = create_broker(settings, dead_letter_topic=topic)
    await broker.start()
    try:
        await publish(broker, _probe(0), topic=topic)
        _end_the_producer(broker)
        # Ten sends meet the dead producer at once: one renewal serves them all.
        await asyncio.gather(*(publish(broker, _probe(n), topic=topic) for n in range(1, 11)))
        await publish(broker, _probe(11), topic=topic)
    finally:
        await broker.stop()

    assert renewal_of(broker).generation == 1
    values = await _values(kafka_bootstrap, topic, 12)
    assert len(values) == 12  # each event once: a refused send was not written
    assert sorted(int(orjson.loads(value)["n"]) for value in values) == list(range(12))


async def test_a_producer_that_dies_again_right_after_its_renewal_is_reported(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("renewal")
    settings = RuntimeSettings(
        service_name=unique_name("edge"), kafka_bootstrap_servers=kafka_bootstrap
    )
    broker = create_broker(settings, dead_letter_topic=topic)
    await broker.start()
    try:
        _end_the_producer(broker)
        renewal = renewal_of(broker)
        real_renew = renewal.renew

        async def renew_into_a_dead_one(seen: int) -> None:
            await real_renew(seen)
            _end_the_producer(broker)

        renewal.renew = renew_into_a_dead_one  # type: ignore[method-assign]
        with pytest.raises(OutOfOrderSequenceNumber):
            await publish(broker, _probe(1), topic=topic)
    finally:
        await broker.stop()
