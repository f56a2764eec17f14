"""Department on expenses over real Kafka and the FreshBooks sandbox: callbacks, the backup poll,
duplicates, and the terminated person who can log no more expenses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from sandboxes.kit import wait_until
from schemas.outcomes import SyncOutcome
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from tests.integration.freshbooks.fb_sink_harness import (
    SinkWorld,
    employee,
    running_service,
    send,
    sink_world,
)

EMAIL = "maya.301@acmecreative.example"


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
    employees = await kafka_topic("people.employee")
    raw = await kafka_topic("raw.freshbooks")
    async with running_service(
        world, kafka_bootstrap, topics=(employees, raw), group=unique_name("freshbooks")
    ) as broker:
        yield broker, employees, raw


async def outcomes_for(world: SinkWorld, key: str, count: int) -> list[SyncOutcome]:
    def enough() -> list[SyncOutcome] | None:
        found = world.outcomes_for(key)
        return found if len(found) >= count else None

    return await wait_until(
        enough,
        timeout_seconds=60,
        message=f"{count} outcomes for {key}",
        details=lambda: str(world.outcomes_for(key)),
    )


async def hired_and_accepted(world: SinkWorld, broker: KafkaBroker, topic: str) -> int:
    await send(broker, employee(world, "301", department="Engineering"), topic=topic)
    await outcomes_for(world, "301", 1)
    accepted = await world.action("accept_invitation", {"email": EMAIL})
    return int(accepted["staffid"])


def callback(world: SinkWorld, name: str, object_id: int) -> RawDelivery:
    """What ingest publishes for a verified FreshBooks callback (sheet 8's form body)."""
    body = (
        f"name={name}&object_id={object_id}&account_id={world.account_id}"
        "&business_id=77001&identity_id=90210&user_id=1"
    )
    return RawDelivery(
        connection_id=world.freshbooks_connection_id,
        occurred_at=datetime.now(UTC),
        entity_key=f"{name}:{object_id}",
        vendor="freshbooks",
        delivery_id=f"{name}:{object_id}",
        content_type="application/x-www-form-urlencoded",
        body=body,
    )


async def expense(world: SinkWorld, expense_id: int) -> dict[str, Any]:
    [found] = [e for e in await world.state("expenses") if e["id"] == expense_id]
    return found


async def test_a_new_expense_carries_the_department_and_a_duplicate_writes_nothing(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, raw = service
    await hired_and_accepted(world, broker, employees)
    created = await world.action(
        "create_expense",
        {"email": EMAIL, "categoryid": 3001, "amount": "84.20", "notes": "Taxi to client"},
    )
    expense_id = int(created["id"])

    await send(broker, callback(world, "expense.create", expense_id), topic=raw, times=2)

    first, second = await outcomes_for(world, f"expense:{expense_id}", 2)
    assert first.status == "applied", first.detail
    assert second.status == "unchanged"
    assert (await expense(world, expense_id))["notes"] == (
        "Taxi to client\n[Department: Engineering]"
    )
    puts = [
        r
        for r in await world.requests()
        if r["method"] == "PUT" and r["path"].endswith(f"/expenses/expenses/{expense_id}")
    ]
    assert len(puts) == 1


async def test_the_backup_poll_attributes_missed_expenses_to_the_current_department(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, raw = service
    await hired_and_accepted(world, broker, employees)
    seeded_before = {e["id"]: e["notes"] for e in await world.state("expenses")}
    await send(broker, employee(world, "301", version=2, department="Sales"), topic=employees)
    await outcomes_for(world, "301", 2)
    missed = await world.action(
        "create_expense", {"email": EMAIL, "categoryid": 3001, "amount": "12.00"}
    )

    tick = PollTick(
        connection_id=world.freshbooks_connection_id,
        occurred_at=datetime.now(UTC),
        entity_key="tick:poll",
        vendor="freshbooks",
        schedule="poll",
        due_at=datetime.now(UTC).isoformat(),
    )
    await send(broker, tick, topic=raw, times=2)

    [outcome] = await outcomes_for(world, f"expense:{missed['id']}", 1)
    assert outcome.status == "applied"
    assert (await expense(world, int(missed["id"])))["notes"] == "[Department: Sales]"
    # Expenses of staff that no employee became are left as they were.
    after = {e["id"]: e["notes"] for e in await world.state("expenses")}
    assert {k: after[k] for k in seeded_before} == seeded_before


async def test_a_terminated_person_can_log_no_new_expense(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, _ = service
    staff_id = await hired_and_accepted(world, broker, employees)
    await send(broker, employee(world, "301", version=2, status="terminated"), topic=employees)
    await outcomes_for(world, "301", 2)

    refused = await world.sandbox.post(
        "/_sandbox/actions/create_expense",
        json={"staffid": staff_id, "categoryid": 3001, "amount": "5.00"},
    )
    assert refused.status_code == 422
    assert "staffid" in refused.text


async def test_a_reconciliation_tick_rescans_every_expense_of_linked_staff(
    world: SinkWorld, service: tuple[KafkaBroker, str, str]
) -> None:
    broker, employees, raw = service
    await hired_and_accepted(world, broker, employees)
    created = await world.action(
        "create_expense", {"email": EMAIL, "categoryid": 3001, "amount": "9.99"}
    )
    await send(broker, callback(world, "expense.create", int(created["id"])), topic=raw)
    await outcomes_for(world, f"expense:{created['id']}", 1)
    await send(broker, employee(world, "301", version=2, department="Design"), topic=employees)
    await outcomes_for(world, "301", 2)

    tick = ReconcileTick(
        connection_id=world.freshbooks_connection_id,
        occurred_at=datetime.now(UTC),
        entity_key="tick:reconcile",
        vendor="freshbooks",
        schedule="sync",
        due_at=datetime.now(UTC).isoformat(),
    )
    await send(broker, tick, topic=raw)

    first, second = await outcomes_for(world, f"expense:{created['id']}", 2)
    assert (first.status, second.status) == ("applied", "applied")
    assert (await expense(world, int(created["id"])))["notes"] == "[Department: Design]"
