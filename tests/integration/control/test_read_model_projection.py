"""The read model's folder on a real Kafka and each store backend: every event counted once
(through a rebuild and with a second replica folding too), dead letters kept, and the index
answering ``mlc audit``'s questions without scanning what it has folded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from datetime import timedelta
from uuid import uuid4

import pytest
from faststream.kafka import KafkaBroker

from schemas.envelope import utcnow
from schemas.outcomes import DeadLetter, SyncOutcome
from schemas.people import EmployeeChanged
from services.control.projection import Projection, projection_running
from services.ingest.settings import IngestSettings
from services.runtime.audit_trail import EntityRef, read_entity_chains
from services.runtime.bus import create_broker
from services.runtime.log_index import LogPlace, StoreLogIndex, email_ref, record_ref
from services.runtime.publishing import publish
from services.runtime.store import StateStore

pytestmark = pytest.mark.kafka

DEADLINE_S = 60.0


@pytest.fixture
async def broker(kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
    made = create_broker(IngestSettings(kafka_bootstrap_servers=kafka_bootstrap))
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


@pytest.fixture
async def topics(kafka_topic: Callable[..., Awaitable[str]]) -> dict[str, str]:
    return {
        "outcomes": await kafka_topic("outcome", partitions=2),
        "dlq": await kafka_topic("dlq", partitions=1),
        "people": await kafka_topic("people", partitions=2),
    }


def _outcome(link_id: str, status: str, entity_key: str) -> SyncOutcome:
    return SyncOutcome(
        connection_id="fb-1",
        occurred_at=utcnow(),
        entity_key=entity_key,
        service="freshbooks",
        link_id=link_id,
        target_connection_id="fb-1",
        status=status,
        operation="invite_staff",
    )


async def _wait_for(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.1)  # poll: the store has no change feed to await


async def _totals(store: StateStore, link_id: str) -> dict[str, int]:
    async with store.transaction() as tx:
        return (await tx.read_model.totals([link_id])).get(link_id, {})


async def test_each_outcome_is_counted_once_through_a_second_replica_and_a_rebuild(
    store: StateStore, kafka_bootstrap: str, broker: KafkaBroker, topics: dict[str, str]
) -> None:
    link_id = f"link-{uuid4().hex[:8]}"
    statuses = ["applied"] * 10 + ["unchanged"] * 15 + ["failed"] * 5
    for number, status in enumerate(statuses):
        await publish(broker, _outcome(link_id, status, f"e{number}"), topic=topics["outcomes"])
    first = Projection(store, kafka_bootstrap, topics.values())
    second = Projection(store, kafka_bootstrap, topics.values())
    expected = {"applied": 10, "unchanged": 15, "failed": 5}
    async with AsyncExitStack() as running:
        await running.enter_async_context(projection_running(first))
        await _wait_for(lambda: _folded(first), "the first folder to start")
        assert await first.behind(wait_seconds=DEADLINE_S) == 0
        assert await _totals(store, link_id) == expected

        # A second replica folds the same log into the same store: nothing is doubled.
        await running.enter_async_context(projection_running(second))
        for number in range(10):
            await publish(
                broker, _outcome(link_id, "applied", f"n{number}"), topic=topics["outcomes"]
            )
        expected["applied"] = 20
        await _wait_for(lambda: _totals_are(store, link_id, expected), "20 applied")
        assert await second.behind(wait_seconds=DEADLINE_S) == 0
        assert await first.behind(wait_seconds=DEADLINE_S) == 0
        assert await _totals(store, link_id) == expected

        # A rebuild clears the model; the idle folders fold the log again, once.
        async with store.transaction() as tx:
            await tx.read_model.clear()
        await _wait_for(lambda: _totals_are(store, link_id, expected), "the rebuilt totals")
        async with store.transaction() as tx:
            latest = (await tx.read_model.latest([link_id]))[link_id]
            hours = (await tx.read_model.hours([link_id], since=utcnow() - timedelta(hours=2)))[
                link_id
            ]
        assert latest.status == "applied"
        assert latest.entity_key == "n9"
        assert sum(sum(by_status.values()) for by_status in hours.values()) == 40


async def _folded(projection: Projection) -> bool:
    return await projection.behind(wait_seconds=0) >= 0


async def _totals_are(store: StateStore, link_id: str, expected: dict[str, int]) -> bool:
    return await _totals(store, link_id) == expected


async def test_dead_letters_are_kept_with_their_cause_and_found_by_the_original_event(
    store: StateStore, kafka_bootstrap: str, broker: KafkaBroker, topics: dict[str, str]
) -> None:
    original = _outcome("any", "failed", "staff-7")
    letter = DeadLetter(
        connection_id="fb-1",
        occurred_at=utcnow(),
        entity_key="staff-7",
        service="freshbooks",
        original_topic="people.employee",
        original_partition=0,
        original_offset=7,
        original=original.model_dump_json(),
        attempts=5,
        error_type="VendorCallError",
        error="FreshBooks answered HTTP 500",
    )
    letter = await publish(broker, letter, topic=topics["dlq"])
    projection = Projection(store, kafka_bootstrap, topics.values())
    async with projection_running(projection):
        await _wait_for(lambda: _folded(projection), "the folder to start")
        assert await projection.behind(wait_seconds=DEADLINE_S) == 0
    async with store.transaction() as tx:
        [kept] = await tx.read_model.dead_letters(limit=10, connection_ids=["fb-1"])
        by_original = await tx.read_model.dead_letter(str(original.event_id))
        counts = await tx.read_model.dead_letter_counts(["fb-1", "other"])
    assert kept.event_id == str(letter.event_id)
    assert (kept.topic, kept.error_type, kept.entity_key) == (
        topics["dlq"],
        "VendorCallError",
        "staff-7",
    )
    assert kept.error == "FreshBooks answered HTTP 500"
    assert by_original == kept
    assert counts == {"fb-1": 1}


class _OnlyThese:
    """An index that says it has folded everything and knows only ``places``."""

    def __init__(self, folded: dict[tuple[str, int], int], places: list[LogPlace]) -> None:
        self._folded = folded
        self._places = places

    async def folded(self) -> dict[tuple[str, int], int]:
        return self._folded

    async def places(self, refs: Iterable[str]) -> list[LogPlace]:
        return self._places


async def test_the_index_finds_a_records_chains_as_a_full_scan_does_and_reads_nothing_else(
    store: StateStore, kafka_bootstrap: str, broker: KafkaBroker, topics: dict[str, str]
) -> None:
    employee = EmployeeChanged(
        connection_id="bhr-1",
        occurred_at=utcnow(),
        entity_key="4711",
        employee_id="4711",
        first_name="Ada",
        last_name="Lovelace",
        work_email="Ada@Example.com",
        status="active",
        source_updated_at=utcnow(),
    )
    employee = await publish(broker, employee, topic=topics["people"])
    outcome = _outcome("l-1", "applied", "4711").model_copy(update={"connection_id": "bhr-1"})
    await publish(broker, outcome, cause=employee, topic=topics["outcomes"])
    for number in range(20):  # other records' traffic, which the index must not read
        await publish(
            broker, _outcome("l-1", "applied", f"other-{number}"), topic=topics["outcomes"]
        )
    projection = Projection(store, kafka_bootstrap, topics.values())
    async with projection_running(projection):
        await _wait_for(lambda: _folded(projection), "the folder to start")
        assert await projection.behind(wait_seconds=DEADLINE_S) == 0
    entity = EntityRef("bamboohr", "4711")
    names = list(topics.values())

    scanned = await read_entity_chains(
        kafka_bootstrap, entity, topics=names, connection_ids=["bhr-1"]
    )
    indexed = await read_entity_chains(
        kafka_bootstrap, entity, topics=names, connection_ids=["bhr-1"], index=StoreLogIndex(store)
    )

    assert [[(e.topic, e.offset) for e in chain] for chain in indexed] == [
        [(e.topic, e.offset) for e in chain] for chain in scanned
    ]
    [chain] = indexed
    assert [e.event["type"] for e in chain] == ["EmployeeChanged", "SyncOutcome"]
    async with store.transaction() as tx:
        by_email = await tx.read_model.places([email_ref("ada@example.COM")])
        by_record = await tx.read_model.places([record_ref("bhr-1", "4711")])
    assert by_email == [LogPlace(chain[0].topic, chain[0].partition, chain[0].offset)]
    assert len(by_record) == 2

    # An index that has folded everything but knows only the employee event: nothing else
    # is read, so the outcome (found by a scan) is not found this way.
    folded = await StoreLogIndex(store).folded()
    only_the_employee = _OnlyThese(folded, by_email)
    [cut] = await read_entity_chains(
        kafka_bootstrap, entity, topics=names, connection_ids=["bhr-1"], index=only_the_employee
    )
    assert [e.event["type"] for e in cut] == ["EmployeeChanged"]
