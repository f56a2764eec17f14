"""Flow 2's zoho service over real Kafka and the Zoho Books sandbox on a socket.

The service's router (``services.zoho.handlers.build_router`` around a contacts sink)
consumes ``EmployeeChanged`` from a topic of the test's own: a hire becomes one contact in
the EU organisation and an ``applied`` SyncOutcome on the outcome topic, caused by the
message; the same message delivered twice writes once. A reconcile tick on ``raw.zoho``
publishes a department Finance added in Zoho, asks the BambooHR side for a reconcile, and
sums its contacts up in one outcome; a BambooHR department on ``people.department`` becomes
a Zoho tag option.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker

from sandboxes.kit import wait_until
from schemas.envelope import utcnow
from schemas.outcomes import SyncOutcome
from schemas.people import DepartmentChanged
from schemas.raw import ReconcileTick
from services.zoho.handlers import ZohoTopics
from services.zoho.reconcile import summary_key
from services.zoho.sinks.contacts import CONTACT
from tests.integration.zoho.zoho_sink_harness import (
    ZohoWorld,
    employee,
    running_service,
    send,
    zoho_world,
)

CONTACTS_CREATE = "/books/v3/contacts"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ZohoWorld]:
    async with zoho_world(tmp_path) as made:
        yield made


@pytest.fixture
async def service(
    world: ZohoWorld,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
) -> AsyncIterator[tuple[KafkaBroker, ZohoTopics]]:
    topics = ZohoTopics(
        employees=await kafka_topic("people.employee", partitions=3),
        departments=await kafka_topic("people.department"),
        raw=await kafka_topic("raw.zoho"),
    )
    source_raw = await kafka_topic("raw.bamboohr")
    async with running_service(
        world, kafka_bootstrap, topics=topics, group=unique_name("zoho"), source_raw=source_raw
    ) as broker:
        yield broker, topics


async def outcomes_of(world: ZohoWorld, employee_id: str, count: int) -> list[SyncOutcome]:
    def enough() -> list[SyncOutcome] | None:
        found = world.outcomes_for(employee_id)
        return found if len(found) >= count else None

    return await wait_until(
        enough,
        timeout_seconds=60,
        message=f"{count} outcomes for employee {employee_id}",
        details=lambda: str(world.outcomes_for(employee_id)),
    )


async def test_an_employee_changed_on_kafka_becomes_a_contact_and_an_applied_outcome(
    world: ZohoWorld, service: tuple[KafkaBroker, ZohoTopics]
) -> None:
    broker, topics = service
    sent = await send(broker, employee(world, "31", job_title="Analyst"), topic=topics.employees)

    [outcome] = await outcomes_of(world, "31", 1)
    assert (outcome.status, outcome.operation) == ("applied", "create_contact"), outcome.detail
    assert outcome.causation_id == sent.event_id
    assert outcome.target_connection_id == world.zoho_connection_id
    [contact] = await world.contacts_with_email("noor.31@consultancy.example")
    assert contact["contact_name"] == "Noor Haddad31"
    assert contact["status"] == "active"
    [person] = contact["contact_persons"]
    assert person["designation"] == "Analyst"
    assert outcome.target_ids[CONTACT] == contact["contact_id"]
    async with world.store.transaction() as repos:
        reference = await repos.cross_references.get(world.link_id, "31", CONTACT)
    assert reference is not None
    assert reference.target_id == contact["contact_id"]


async def test_a_duplicated_message_makes_one_write(
    world: ZohoWorld, service: tuple[KafkaBroker, ZohoTopics]
) -> None:
    broker, topics = service
    sent = await send(broker, employee(world, "32"), topic=topics.employees, times=2)

    outcomes = await outcomes_of(world, "32", 2)
    assert [o.status for o in outcomes] == ["applied", "unchanged"], outcomes
    assert {o.causation_id for o in outcomes} == {sent.event_id}
    assert len(await world.contacts_with_email("noor.32@consultancy.example")) == 1
    # A hire whose tag options exist writes the contact and nothing else; the second
    # delivery writes nothing at all.
    writes = [(w["method"], w["path"]) for w in await world.writes()]
    assert len(writes) == 1, writes
    [(method, path)] = writes
    assert method == "POST"
    assert path.endswith(CONTACTS_CREATE)


async def test_a_reconcile_tick_publishes_zoho_options_asks_the_source_and_sums_up(
    world: ZohoWorld, service: tuple[KafkaBroker, ZohoTopics]
) -> None:
    broker, topics = service
    await world.action("add_option", {"tag": "Department", "option": "Cost Centre 7"})
    now = utcnow()
    tick = ReconcileTick(
        connection_id=world.zoho_connection_id,
        occurred_at=now,
        vendor="zoho",
        schedule="reconcile",
        due_at=now.isoformat(),
        entity_key="tick:reconcile",
    )

    sent = await send(broker, tick, topic=topics.raw)

    def cost_centre() -> DepartmentChanged | None:
        return next(
            (
                e
                for e in world.published
                if isinstance(e, DepartmentChanged) and e.name == "Cost Centre 7"
            ),
            None,
        )

    option = await wait_until(cost_centre, timeout_seconds=60, message="the Zoho option")
    assert option.connection_id == world.zoho_connection_id
    assert option.causation_id == sent.event_id
    asked = await wait_until(
        lambda: next((e for e in world.published if isinstance(e, ReconcileTick)), None),
        timeout_seconds=60,
        message="a reconcile tick for the BambooHR side",
    )
    assert asked.connection_id == world.bamboohr_connection_id
    assert asked.schedule == f"link:{world.link_id}"
    [summary] = await outcomes_of(world, summary_key(world.link_id), 1)
    assert (summary.status, summary.detail) == ("applied", "0 checked, 0 repaired, 0 failed")


async def test_a_bamboohr_department_on_the_bus_becomes_a_zoho_tag_option(
    world: ZohoWorld, service: tuple[KafkaBroker, ZohoTopics]
) -> None:
    broker, topics = service
    now = utcnow()
    department = DepartmentChanged(
        connection_id=world.bamboohr_connection_id,
        occurred_at=now,
        source_updated_at=now,
        kind="department",
        unit_id="44",
        name="Bids and Tenders",
        active=True,
    )

    await send(broker, department, topic=topics.departments)

    [outcome] = await outcomes_of(world, department.entity_key, 1)
    assert (outcome.status, outcome.operation) == ("applied", "add_option")
    [tag] = [
        t
        for t in await world.state("reporting_tags")
        if str(t.get("organization_id")) == world.organization_id and t["tag_name"] == "Department"
    ]
    assert "Bids and Tenders" in {o["tag_option_name"] for o in tag["tag_options"]}
