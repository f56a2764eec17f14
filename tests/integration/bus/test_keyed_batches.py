"""``record_subscriber`` with batches: records of different keys handled at once, one key's
in order; a failing or undecodable record dead-lettered without holding the others; the
batch committed only once every record of it is settled, so a stop mid-batch loses
nothing."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from sandboxes.kit import wait_until
from schemas.outcomes import DeadLetter
from schemas.raw import PollTick
from services.runtime.bus import Consuming, create_broker, record_subscriber, subscriber
from services.runtime.consumer_lag import consumer_lag
from services.runtime.dead_letters import HandlerRetryPolicy
from services.runtime.publishing import publish
from services.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.kafka

PARTITIONS = 3
KEYS = 12
EVENTS_PER_KEY = 4
BATCHES = Consuming(batch=100, lanes=4)
FAST_RETRY = HandlerRetryPolicy(max_attempts=3, first_backoff_s=0.01, max_backoff_s=0.05)


# The batch decodes each record through the event registry, as the sinks' events are: the
# probe is a registered event (a poll tick) whose ``due_at`` numbers one record's changes.


def _probe(key: int, sequence: int) -> PollTick:
    return PollTick(
        connection_id="conn-9",
        entity_key=f"employee-{key}",
        occurred_at=datetime.now(UTC),
        vendor="probe",
        schedule="changes",
        due_at=str(sequence),
    )


def _sequence(event: PollTick) -> int:
    return int(event.due_at)


async def _publish_all(broker: KafkaBroker, topic: str, probes: list[PollTick]) -> None:
    await asyncio.gather(*(publish(broker, probe, topic=topic) for probe in probes))


async def _nothing_behind(
    broker: KafkaBroker, partitions: int
) -> dict[tuple[str, ...], float] | None:
    lags = await consumer_lag(broker)
    return lags if len(lags) == partitions and not any(lags.values()) else None


async def test_different_records_are_handled_at_once_each_in_order_and_the_batch_committed(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("batches", partitions=PARTITIONS)
    settings = RuntimeSettings(
        service_name=unique_name("batch-sink"), kafka_bootstrap_servers=kafka_bootstrap
    )
    broker = create_broker(settings, dead_letter_topic=await kafka_topic("batches-dlq"))
    received: dict[str, list[int]] = defaultdict(list)
    in_flight = 0
    most_at_once = 0
    overlapped = asyncio.Event()

    @record_subscriber(broker, topic, PollTick, group_id=settings.service_name, consuming=BATCHES)
    async def record(event: PollTick) -> None:
        nonlocal in_flight, most_at_once
        in_flight += 1
        most_at_once = max(most_at_once, in_flight)
        if in_flight > 1:
            overlapped.set()
        try:
            if _sequence(event) == 0:
                # Each record's first change waits (up to a deadline) for another record's
                # handler to run beside it: one record at a time, none ever would.
                await asyncio.wait_for(overlapped.wait(), timeout=20)
            received[event.entity_key].append(_sequence(event))
        finally:
            in_flight -= 1

    await broker.start()
    try:
        await _publish_all(
            broker, topic, [_probe(k, s) for s in range(EVENTS_PER_KEY) for k in range(KEYS)]
        )
        await wait_until(
            lambda: sum(map(len, received.values())) >= KEYS * EVENTS_PER_KEY,
            timeout_seconds=60,
            message=f"{KEYS * EVENTS_PER_KEY} events handled",
            details=lambda: f"handled {sum(map(len, received.values()))}",
        )
        await wait_until(
            lambda: _nothing_behind(broker, PARTITIONS),
            timeout_seconds=30,
            message="every batch committed",
        )
    finally:
        await broker.stop()

    assert 1 < most_at_once <= BATCHES.lanes
    assert len(received) == KEYS
    for key, sequences in received.items():
        assert sequences == list(range(EVENTS_PER_KEY)), key


async def test_a_failing_and_an_undecodable_record_are_dead_lettered_and_the_rest_committed(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("batches")
    dlq = await kafka_topic("batches-dlq")
    settings = RuntimeSettings(
        service_name=unique_name("batch-sink"), kafka_bootstrap_servers=kafka_bootstrap
    )
    broker = create_broker(settings, dead_letter_topic=dlq, retry=FAST_RETRY)
    attempts: dict[str, int] = defaultdict(int)
    handled: list[str] = []
    letters: list[DeadLetter] = []

    @record_subscriber(broker, topic, PollTick, group_id=settings.service_name, consuming=BATCHES)
    async def record(event: PollTick) -> None:
        attempts[event.entity_key] += 1
        if event.entity_key == "employee-0":
            msg = "target answered 422: the email is taken"
            raise ValueError(msg)
        handled.append(event.entity_key)

    @subscriber(broker, dlq, group_id=unique_name("dlq-reader"))
    async def read_dead_letter(letter: DeadLetter) -> None:
        letters.append(letter)

    await broker.start()
    try:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"{not json", key=b"conn-9:garbled")
        finally:
            await producer.stop()
        await _publish_all(broker, topic, [_probe(k, 0) for k in range(4)])
        await wait_until(
            lambda: len(letters) >= 2 and len(handled) >= 3,
            timeout_seconds=60,
            message="two dead letters and three records handled",
            details=lambda: f"letters {[x.entity_key for x in letters]}, handled {handled}",
        )
        await wait_until(  # the sink's partition and the dead-letter reader's
            lambda: _nothing_behind(broker, 2), timeout_seconds=30, message="the batch committed"
        )
    finally:
        await broker.stop()

    by_record = {letter.entity_key: letter for letter in letters}
    assert set(by_record) == {"employee-0", "garbled"}
    assert by_record["employee-0"].attempts == FAST_RETRY.max_attempts
    assert attempts["employee-0"] == FAST_RETRY.max_attempts
    assert "the email is taken" in by_record["employee-0"].error
    assert by_record["garbled"].attempts == 1  # undecodable: no retry can help
    assert by_record["garbled"].error_type.endswith("UndecodableMessageError")
    assert sorted(handled) == ["employee-1", "employee-2", "employee-3"]


async def test_a_batch_stopped_midway_is_delivered_again_whole(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("batches")
    dlq = await kafka_topic("batches-dlq")
    group = unique_name("batch-sink")
    settings = RuntimeSettings(service_name=group, kafka_bootstrap_servers=kafka_bootstrap)
    first_seen: list[str] = []
    stuck = asyncio.Event()
    first = create_broker(settings, dead_letter_topic=dlq)

    @record_subscriber(first, topic, PollTick, group_id=group, consuming=BATCHES)
    async def hangs_on_one(event: PollTick) -> None:
        if event.entity_key == "employee-2":
            stuck.set()
            await asyncio.Event().wait()  # a vendor call that never returns, then a stop
        first_seen.append(event.entity_key)

    await first.start()
    try:
        await _publish_all(first, topic, [_probe(k, 0) for k in range(4)])
        await wait_until(
            lambda: stuck.is_set() and len(first_seen) == 3,
            timeout_seconds=60,
            message="three records handled and one stuck",
        )
    finally:
        await first.stop()

    second_seen: list[str] = []
    second = create_broker(settings, dead_letter_topic=dlq)

    @record_subscriber(second, topic, PollTick, group_id=group, consuming=BATCHES)
    async def handles_all(event: PollTick) -> None:
        second_seen.append(event.entity_key)

    await second.start()
    try:
        await wait_until(
            lambda: len(second_seen) >= 4,
            timeout_seconds=60,
            message="the whole batch delivered again",
            details=lambda: f"seen {second_seen}",
        )
    finally:
        await second.stop()
    # Nothing was committed while a record of the batch was unsettled: all four come again.
    assert sorted(second_seen) == [f"employee-{k}" for k in range(4)]


async def test_what_the_screen_answers_is_not_handled_again_and_a_failing_screen_answers_nothing(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    topic = await kafka_topic("batches")
    settings = RuntimeSettings(
        service_name=unique_name("batch-sink"), kafka_bootstrap_servers=kafka_bootstrap
    )
    broker = create_broker(settings, dead_letter_topic=await kafka_topic("batches-dlq"))
    screened: list[str] = []
    handled: list[str] = []
    screen_works = True

    async def screen(events: Sequence[PollTick]) -> set[int]:
        if not screen_works:
            msg = "the store is down"
            raise OSError(msg)
        answered = {n for n, event in enumerate(events) if event.entity_key.endswith("-even")}
        screened.extend(events[n].entity_key for n in answered)
        return answered

    @record_subscriber(
        broker,
        topic,
        PollTick,
        group_id=settings.service_name,
        consuming=BATCHES,
        screen=screen,
    )
    async def record(event: PollTick) -> None:
        handled.append(event.entity_key)

    def probe(name: str) -> PollTick:
        return _probe(0, 0).model_copy(update={"entity_key": name})

    await broker.start()
    try:
        await _publish_all(broker, topic, [probe("a-even"), probe("b-odd"), probe("c-even")])
        await wait_until(
            lambda: len(screened) + len(handled) >= 3,
            timeout_seconds=60,
            message="the batch screened and handled",
        )
        screen_works = False
        await _publish_all(broker, topic, [probe("d-even"), probe("e-odd")])
        await wait_until(
            lambda: len(handled) >= 3, timeout_seconds=60, message="a failed screen's batch handled"
        )
        await wait_until(
            lambda: _nothing_behind(broker, 1), timeout_seconds=30, message="both batches committed"
        )
    finally:
        await broker.stop()

    assert sorted(screened) == ["a-even", "c-even"]
    assert sorted(handled) == ["b-odd", "d-even", "e-odd"]
