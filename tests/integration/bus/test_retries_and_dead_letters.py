"""A message whose handler keeps failing is retried in place, then dead-lettered and passed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.exc import OperationalError

from sandboxes.kit import wait_until
from schemas.outcomes import DeadLetter
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.runtime.bus import create_broker, subscriber
from services.runtime.dead_letters import HandlerRetryPolicy
from services.runtime.raw_dispatch import dispatch_raw
from services.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.kafka

MAX_ATTEMPTS = 3
FAST_RETRY = HandlerRetryPolicy(max_attempts=MAX_ATTEMPTS, first_backoff_s=0.01, max_backoff_s=0.05)


class CannotWriteError(RuntimeError):
    """What a sink raises when the target keeps refusing a record."""


async def _committed_offset_is(bootstrap: str, group: str, topic: str, offset: int) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return any(
        partition.topic == topic and committed.offset == offset
        for partition, committed in offsets.items()
    )


async def _message_count(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, 0)])
    finally:
        await consumer.stop()
    return int(sum(ends.values()))


async def test_a_message_that_always_fails_goes_to_the_dead_letter_topic_and_the_next_is_handled(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("payments")
    dlq = await kafka_topic("dlq")
    service = unique_name("sink")
    settings = RuntimeSettings(service_name=service, kafka_bootstrap_servers=kafka_bootstrap)
    broker = create_broker(settings, dead_letter_topic=dlq, retry=FAST_RETRY)
    attempts: dict[bytes, int] = {}
    handled: list[bytes] = []
    letters: list[DeadLetter] = []

    @subscriber(broker, topic, group_id=service)
    async def write_payment(message: KafkaMessage) -> None:
        attempts[message.body] = attempts.get(message.body, 0) + 1
        if b"poison" in message.body:
            raise CannotWriteError("target answered 422: amount must be positive")
        handled.append(message.body)

    @subscriber(broker, dlq, group_id=unique_name("dlq-reader"))
    async def read_dead_letter(letter: DeadLetter) -> None:
        letters.append(letter)

    poison = b'{"event_id": "6f1c1a52-3d0e-4c55-9a3e-0d6f1f0b7a11", "amount": -5, "poison": 1}'
    await broker.start()
    try:
        await broker.publish(poison, topic, key=b"conn-9:payment-1")
        await broker.publish(b'{"amount": 5}', topic, key=b"conn-9:payment-2")
        await wait_until(
            lambda: bool(handled) and bool(letters),
            timeout_seconds=60,
            message="the next message to be handled and the dead letter to arrive",
            details=lambda: f"handled={handled} letters={letters} attempts={attempts}",
        )
        # The record given up on is committed too: a restart would not see it again.
        await wait_until(
            lambda: _committed_offset_is(kafka_bootstrap, service, topic, 2),
            timeout_seconds=30,
            message="the group to commit past both messages",
        )
    finally:
        await broker.stop()

    assert attempts[poison] == MAX_ATTEMPTS
    assert handled == [b'{"amount": 5}']
    [letter] = letters
    assert letter.service == service
    assert letter.attempts == MAX_ATTEMPTS
    assert letter.error_type.endswith("CannotWriteError")
    assert letter.error == "target answered 422: amount must be positive"
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        topic,
        0,
        0,
    )
    assert letter.original_key == "conn-9:payment-1"
    assert letter.original.encode() == poison
    assert letter.original_encoding == "utf-8"
    assert (letter.connection_id, letter.entity_key) == ("conn-9", "payment-1")
    assert str(letter.causation_id) == "6f1c1a52-3d0e-4c55-9a3e-0d6f1f0b7a11"


async def test_a_message_that_fails_fewer_times_than_the_limit_is_delivered_again_until_it_succeeds(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("bills")
    dlq = await kafka_topic("dlq")
    service = unique_name("sink")
    settings = RuntimeSettings(service_name=service, kafka_bootstrap_servers=kafka_bootstrap)
    broker = create_broker(settings, dead_letter_topic=dlq, retry=FAST_RETRY)
    deliveries: list[bytes] = []

    @subscriber(broker, topic, group_id=service)
    async def write_bill(message: KafkaMessage) -> None:
        deliveries.append(message.body)
        if len(deliveries) < MAX_ATTEMPTS:
            raise CannotWriteError("target answered 503")

    await broker.start()
    try:
        await broker.publish(b'{"bill": "B-1"}', topic, key=b"conn-9:bill-1")
        await wait_until(
            lambda: _committed_offset_is(kafka_bootstrap, service, topic, 1),
            timeout_seconds=60,
            message="the bill to be written and committed",
            details=lambda: f"deliveries={deliveries}",
        )
    finally:
        await broker.stop()

    assert deliveries == [b'{"bill": "B-1"}'] * MAX_ATTEMPTS
    assert await _message_count(kafka_bootstrap, dlq) == 0


async def test_a_message_failing_while_the_store_is_down_waits_past_the_limit_not_dead_lettered(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("employees")
    dlq = await kafka_topic("dlq")
    service = unique_name("sink")
    settings = RuntimeSettings(service_name=service, kafka_bootstrap_servers=kafka_bootstrap)
    outage_retry = HandlerRetryPolicy(
        max_attempts=MAX_ATTEMPTS,
        first_backoff_s=0.01,
        max_backoff_s=0.05,
        max_outage_backoff_s=0.05,
    )
    broker = create_broker(settings, dead_letter_topic=dlq, retry=outage_retry)
    deliveries: list[bytes] = []
    # Three times the dead-letter limit: a message's own fault would be given up by then.
    outage_lasts = 3 * MAX_ATTEMPTS

    @subscriber(broker, topic, group_id=service)
    async def write_employee(message: KafkaMessage) -> None:
        deliveries.append(message.body)
        if len(deliveries) <= outage_lasts:
            try:
                raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
            except ConnectionRefusedError as refused:
                raise OperationalError("SELECT 1", {}, refused) from refused

    await broker.start()
    try:
        await broker.publish(b'{"employee": "E-1"}', topic, key=b"conn-9:employee-1")
        await wait_until(
            lambda: _committed_offset_is(kafka_bootstrap, service, topic, 1),
            timeout_seconds=60,
            message="the employee to be written once the store is back, and committed",
            details=lambda: f"deliveries={len(deliveries)}",
        )
    finally:
        await broker.stop()

    assert deliveries == [b'{"employee": "E-1"}'] * (outage_lasts + 1)
    assert await _message_count(kafka_bootstrap, dlq) == 0


class _NoRawHandling:
    """Raw handlers that are never reached: every message here is undecodable."""

    async def on_delivery(self, delivery: RawDelivery) -> None:
        raise AssertionError(delivery)

    async def on_poll(self, tick: PollTick) -> None:
        raise AssertionError(tick)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        raise AssertionError(tick)


async def test_a_raw_message_that_cannot_be_decoded_is_dead_lettered_at_once_with_its_cause(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("raw.vendor")
    dlq = await kafka_topic("dlq")
    service = unique_name("source")
    settings = RuntimeSettings(service_name=service, kafka_bootstrap_servers=kafka_bootstrap)
    broker = create_broker(settings, dead_letter_topic=dlq, retry=FAST_RETRY)
    attempts: list[object] = []
    letters: list[DeadLetter] = []

    @subscriber(broker, topic, group_id=service)
    async def read_raw(message: object) -> None:
        attempts.append(message)
        await dispatch_raw(message, _NoRawHandling())

    @subscriber(broker, dlq, group_id=unique_name("dlq-reader"))
    async def read_dead_letter(letter: DeadLetter) -> None:
        letters.append(letter)

    await broker.start()
    try:
        await broker.publish(b'{"type": "NoSuchEvent"}', topic, key=b"conn-9:raw-1")
        await wait_until(
            lambda: bool(letters),
            timeout_seconds=60,
            message="the dead letter of the undecodable message",
        )
        await wait_until(
            lambda: _committed_offset_is(kafka_bootstrap, service, topic, 1),
            timeout_seconds=30,
            message="the group to commit past it",
        )
    finally:
        await broker.stop()

    assert len(attempts) == 1  # no retry can decode it
    [letter] = letters
    assert letter.attempts == 1
    assert letter.error_type.endswith("UndecodableMessageError")
    assert "unknown event type 'NoSuchEvent'" in letter.error
    assert letter.original_key == "conn-9:raw-1"
