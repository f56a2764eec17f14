"""publish() stamps the envelope, keys the message and sends it where the event belongs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from faststream.kafka import ConsumerRecord, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas import decode_event
from schemas.outcomes import DeadLetter, SyncOutcome
from services.runtime.bus import create_broker, subscriber
from services.runtime.publishing import publish, stamp
from services.runtime.settings import RuntimeSettings

OCCURRED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _outcome(**envelope: object) -> SyncOutcome:
    return SyncOutcome(
        connection_id="conn-3",
        entity_key="employee-17",
        occurred_at=OCCURRED,
        service="freshbooks",
        status="applied",
        operation="create_staff",
        **envelope,
    )


def _dead_letter() -> DeadLetter:
    return DeadLetter(
        connection_id="conn-3",
        entity_key="bill-9",
        occurred_at=OCCURRED,
        service="bill",
        original_topic="ap.bill",
        original_partition=0,
        original_offset=41,
        original="{}",
        attempts=5,
        error_type="TimeoutError",
        error="",
    )


def test_an_event_without_a_cause_starts_its_own_chain() -> None:
    original = _outcome()

    stamped = stamp(original)

    assert stamped.event_id != original.event_id
    assert stamped.causation_id is None
    assert stamped.correlation_id == stamped.event_id


def test_an_event_caused_by_the_first_of_a_chain_is_correlated_to_that_first_event() -> None:
    first = stamp(_outcome())
    assert first.correlation_id == first.event_id

    second = stamp(_outcome(), cause=first)

    assert second.causation_id == first.event_id
    assert second.correlation_id == first.event_id


def test_a_cause_that_never_went_through_stamp_still_anchors_the_chain() -> None:
    unstamped_cause = _outcome()
    assert unstamped_cause.correlation_id is None

    effect = stamp(_outcome(), cause=unstamped_cause)

    assert effect.correlation_id == unstamped_cause.event_id


def test_a_third_event_keeps_the_first_events_correlation_and_names_the_second_as_cause() -> None:
    first = stamp(_outcome())
    second = stamp(_outcome(), cause=first)

    third = stamp(_outcome(), cause=second)

    assert third.causation_id == second.event_id
    assert third.correlation_id == first.event_id


def test_ids_the_caller_set_are_kept_when_there_is_no_cause_event() -> None:
    causation, correlation = uuid4(), uuid4()

    stamped = stamp(_outcome(causation_id=causation, correlation_id=correlation))

    assert (stamped.causation_id, stamped.correlation_id) == (causation, correlation)


def test_recorded_at_is_the_publishing_time_not_the_construction_time() -> None:
    built = _outcome(recorded_at=OCCURRED)
    now = OCCURRED + timedelta(minutes=5)

    assert stamp(built, now=now).recorded_at == now


async def test_publish_sends_the_stamped_event_keyed_by_connection_and_entity_to_its_topic() -> (
    None
):
    broker = create_broker(RuntimeSettings(service_name="freshbooks"))
    seen: list[tuple[bytes, bytes | None, dict[str, str]]] = []

    @subscriber(broker, SyncOutcome.topic_name, group_id="test-reader")
    async def read(message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        seen.append((message.body, record.key, dict(message.headers)))

    cause = stamp(_outcome())
    async with TestKafkaBroker(broker):
        published = await publish(broker, _outcome(), cause=cause)

    [(body, key, headers)] = seen
    assert key == b"conn-3:employee-17"
    assert headers["content-type"] == "application/json"
    assert headers["event-type"] == "SyncOutcome"
    decoded = decode_event(body)
    assert decoded == published
    assert decoded.causation_id == cause.event_id
    assert decoded.correlation_id == cause.correlation_id


async def test_publish_to_an_explicit_topic_for_events_whose_topic_depends_on_the_service() -> None:
    broker = create_broker(RuntimeSettings(service_name="bill"))
    topics: list[str] = []

    @subscriber(broker, "dlq.bill", group_id="test-reader")
    async def read(message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        topics.append(record.topic)

    letter = _dead_letter()
    async with TestKafkaBroker(broker):
        await publish(broker, letter, topic="dlq.bill")

    assert topics == ["dlq.bill"]


async def test_publishing_an_event_that_has_no_topic_of_its_own_needs_an_explicit_topic() -> None:
    broker = create_broker(RuntimeSettings(service_name="bill"))
    letter = _dead_letter()
    async with TestKafkaBroker(broker):
        with pytest.raises(ValueError, match="DeadLetter has no topic_name"):
            await publish(broker, letter)
