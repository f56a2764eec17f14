"""Flow 1's sink over real Kafka and the FreshBooks sandbox on a socket: hire, update, terminate,
redelivery, stale revisions, a 429 storm."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker

from sandboxes.kit import wait_until
from schemas import decode_event
from schemas.outcomes import DeadLetter, SyncOutcome
from schemas.topics import dlq_topic
from services.freshbooks.sinks.people import DEPARTMENT_BY_EMAIL
from tests.integration.freshbooks.fb_sink_harness import (
    SinkWorld,
    employee,
    running_service,
    send,
    sink_world,
)

INVITATION = "/auth/api/v1/users/invitation"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SinkWorld]:
    async with sink_world(tmp_path) as made:
        yield made


@pytest.fixture
async def service(
    world: SinkWorld,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> AsyncIterator[tuple[KafkaBroker, str, str]]:
    employees = await kafka_topic("people.employee", partitions=3)
    raw = await kafka_topic("raw.freshbooks")
    async with running_service(
        world, kafka_bootstrap, topics=(employees, raw), group=unique_name("freshbooks")
    ) as broker:
        yield broker, employees, raw


async def outcomes_of(world: SinkWorld, employee_id: str, count: int) -> list[SyncOutcome]:
    def enough() -> list[SyncOutcome] | None:
        found = world.outcomes_for(employee_id)
        return found if len(found) >= count else None

    return await wait_until(
        enough,
        timeout_seconds=60,
        message=f"{count} outcomes for employee {employee_id}",
        details=lambda: str(world.outcomes_for(employee_id)),
    )


async def test_a_hire_invites_the_person_and_records_the_cross_reference(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, _ = service
    hired = employee(world, "101")
    sent = await send(broker, hired, topic=employees)

    [outcome] = await outcomes_of(world, "101", 1)
    assert outcome.status == "applied", outcome.detail
    assert outcome.operation.startswith("invite_team_member")
    assert outcome.causation_id == sent.event_id
    [member] = await world.members_with_email("maya.101@acmecreative.example")
    assert member["active"] is True
    assert outcome.target_ids == {"team_member": member["uuid"]}
    async with world.store.transaction() as repos:
        reference = await repos.cross_references.get(world.link_id, "101", "team_member")
    assert reference is not None
    assert reference.target_id == member["uuid"]


async def test_an_existing_staff_member_is_matched_by_email_and_updated_not_invited(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, _ = service
    # Seeded staff 2 is Liam Walsh; BambooHR knows him with another last name and upper case.
    [staff] = [s for s in await world.state("staff") if s["id"] == 2]
    await send(
        broker,
        employee(
            world,
            "102",
            first_name="Liam",
            last_name="Walsh-Byrne",
            work_email=str(staff["email"]).upper(),
        ),
        topic=employees,
    )

    [outcome] = await outcomes_of(world, "102", 1)
    assert outcome.status == "applied", outcome.detail
    assert "update_staff" in outcome.operation
    assert outcome.target_ids["staff"] == "2"
    [after] = [s for s in await world.state("staff") if s["id"] == 2]
    assert after["lname"] == "Walsh-Byrne"
    assert await world.count_requests("POST", INVITATION) == 0


async def test_update_then_termination_soft_deletes_in_a_put_of_its_own(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, _ = service
    email = "maya.103@acmecreative.example"
    await send(broker, employee(world, "103", version=1), topic=employees)
    await outcomes_of(world, "103", 1)
    await world.action("accept_invitation", {"email": email})
    [staff] = await world.staff_with_email(email)

    await send(
        broker,
        employee(world, "103", version=2, last_name="Lopez-Diaz", department="Sales"),
        topic=employees,
    )
    second = (await outcomes_of(world, "103", 2))[1]
    assert second.status == "applied", second.detail
    assert second.operation == "update_staff+record_department"
    assert await _department_of(world, email) == "Sales"

    # Terminated with a last change of name: a mixed PUT would lose the name silently.
    await send(
        broker,
        employee(world, "103", version=3, status="terminated", last_name="Diaz"),
        topic=employees,
    )
    third = (await outcomes_of(world, "103", 3))[2]
    assert third.status == "applied", third.detail
    assert third.operation.startswith("update_staff+soft_delete_staff")
    [after] = await world.staff_with_email(email)
    assert after["id"] == staff["id"]
    assert after["vis_state"] == 1  # soft-deleted, still there
    assert after["lname"] == "Diaz"
    assert await _department_of(world, email) == "Engineering"  # moved back with the change
    staff_puts = [
        r
        for r in await world.requests()
        if r["method"] == "PUT" and r["path"].endswith(f"/users/staffs/{staff['id']}")
    ]
    assert len(staff_puts) == 3  # update; update; then vis_state alone
    # No hard delete was ever sent.
    assert not [r for r in await world.requests() if r["method"] == "DELETE"]


async def _department_of(world: SinkWorld, email: str) -> str | None:
    """The department the sink recorded for ``email`` (expense attribution reads it)."""
    async with world.store.reading() as repos:
        return await repos.mappings.get(world.link_id, DEPARTMENT_BY_EMAIL, email)


async def test_a_redelivered_event_writes_once(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, _ = service
    await send(broker, employee(world, "104"), topic=employees, times=3)

    outcomes = await outcomes_of(world, "104", 3)
    assert [o.status for o in outcomes] == ["applied", "unchanged", "unchanged"]
    assert await world.count_requests("POST", INVITATION) == 1
    assert len(await world.members_with_email("maya.104@acmecreative.example")) == 1


async def test_an_older_revision_arriving_late_does_not_roll_back(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, _ = service
    email = "maya.105@acmecreative.example"
    await world.action(
        "invite_team_member",
        {"email": email, "first_name": "Maya", "last_name": "Old", "accept": True},
    )
    await send(broker, employee(world, "105", version=5, last_name="Newest"), topic=employees)
    await outcomes_of(world, "105", 1)
    await send(broker, employee(world, "105", version=4, last_name="Stale"), topic=employees)

    late = (await outcomes_of(world, "105", 2))[1]
    assert late.status == "unchanged"
    assert "older" in late.detail
    [staff] = await world.staff_with_email(email)
    assert staff["lname"] == "Newest"


async def test_an_employee_without_email_needs_review_and_writes_nothing(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, _ = service
    await send(broker, employee(world, "106", work_email=None), topic=employees)

    [outcome] = await outcomes_of(world, "106", 1)
    assert outcome.status == "needs_review"
    assert [r for r in await world.requests() if r["method"] in ("POST", "PUT")] == []


async def test_a_429_storm_lands_every_write_exactly_once(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, _ = service
    # With Retry-After the HTTP layer waits and retries; without it the POST is handed
    # back (not retried blindly) and the bus redelivers the message.
    await world.sandbox.post(
        "/_sandbox/faults",
        json=[
            {"path": "/team_members", "status": 429, "count": 4, "retry_after": 0},
            {"path": "/users/invitation", "status": 429, "count": 3},
            {"path": "/users/staffs", "status": 429, "count": 3, "retry_after": 0},
        ],
    )
    ids = [f"2{n:02d}" for n in range(6)]
    for employee_id in ids:
        await send(broker, employee(world, employee_id), topic=employees)

    def all_applied() -> bool:
        return all(
            any(o.status == "applied" for o in world.outcomes_for(employee_id))
            for employee_id in ids
        )

    await wait_until(all_applied, timeout_seconds=90, message="every employee applied")
    for employee_id in ids:
        members = await world.members_with_email(f"maya.{employee_id}@acmecreative.example")
        assert len(members) == 1
    assert await world.count_requests("POST", INVITATION) == len(ids)
    refused = [r for r in await world.requests() if r["status"] == 429]
    assert len(refused) == 10  # every injected refusal was met and survived


async def test_a_write_that_keeps_failing_lands_on_the_dead_letter_topic_for_replay(
    world: SinkWorld,
    service: tuple[KafkaBroker, str, str],
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
) -> None:
    broker, employees, _ = service
    await world.sandbox.post(
        "/_sandbox/faults", json={"path": "/users/staffs", "status": 500, "count": 1000}
    )
    sent = await send(broker, employee(world, "107"), topic=employees)

    consumer = AIOKafkaConsumer(
        dlq_topic("freshbooks"),
        bootstrap_servers=kafka_bootstrap,
        group_id=unique_name("dlq-reader"),
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        letter = await wait_until(
            lambda: _dead_letter_of(consumer, sent.key),
            timeout_seconds=120,
            message="the dead letter of employee 107",
        )
    finally:
        await consumer.stop()
    assert letter.original_topic == employees
    assert letter.attempts >= 2
    assert "HTTP 500" in letter.error
    failed = [o for o in world.outcomes_for("107") if o.status == "failed"]
    assert failed, "every failed attempt is an outcome too"
    assert all(o.causation_id == sent.event_id for o in failed)


async def _dead_letter_of(consumer: AIOKafkaConsumer, key: str) -> DeadLetter | None:
    batches = await consumer.getmany(timeout_ms=200)
    for records in batches.values():
        for record in records:
            letter = decode_event(record.value or b"")
            if isinstance(letter, DeadLetter) and letter.original_key == key:
                return letter
    return None
