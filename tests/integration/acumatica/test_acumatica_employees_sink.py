"""Flow 3's employees sink against the Acumatica sandbox on a socket (real HTTP, SQLite).

Departments first: a department BambooHR publishes is created before anyone is hired into
it, and a rename keeps its code; a hire into a department Acumatica lacks creates the
department, then the employee, in one attempt; one Acumatica already has (same
description) is adopted.
A move follows, a leaver becomes Inactive and stays; someone already in Acumatica is
matched by email; the link options choose which values make a department and its code;
a hand edit is found by the drift read and put back; every session is signed out at the
end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import httpx
import pytest

from sandboxes.acumatica.app import AcumaticaSandbox
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.kit import build_app, serve
from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.people import DepartmentChanged, EmployeeChanged, JobTitleChanged
from schemas.raw import PollTick
from services.acumatica.access import FLOW, AcumaticaAccess
from services.acumatica.reconcile import DriftRead, summary_key
from services.acumatica.settings import AcumaticaSettings
from services.acumatica.sinks.departments import DepartmentsSink
from services.acumatica.sinks.employees import EmployeesSink
from services.acumatica.source import AcumaticaSource
from services.runtime.outcomes import Outcomes
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.contract.acumatica_employees import store_connection

_BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_Sink = TypeVar("_Sink", EmployeesSink, DepartmentsSink)


@dataclass
class World:
    control: httpx.AsyncClient
    store: StateStore
    vault: Vault
    source_id: str
    link_id: str
    outcomes: list[SyncOutcome] = field(default_factory=list)

    @asynccontextmanager
    async def sink(self, holder: str = "") -> AsyncIterator[EmployeesSink]:
        async with self._sink(EmployeesSink, holder) as sink:
            yield sink

    @asynccontextmanager
    async def departments_sink(self, holder: str = "") -> AsyncIterator[DepartmentsSink]:
        async with self._sink(DepartmentsSink, holder) as sink:
            yield sink

    @asynccontextmanager
    async def _sink(self, kind: type[_Sink], holder: str) -> AsyncIterator[_Sink]:
        """``holder``: the process's name in leases (the service gives both sinks one)."""

        async def keep(event: SyncOutcome, *, cause: Event) -> None:
            self.outcomes.append(event)

        settings = AcumaticaSettings()
        access = AcumaticaAccess(store=self.store, vault=self.vault, settings=settings)
        try:
            yield kind(
                store=self.store,
                access=access,
                settings=settings,
                outcomes=Outcomes(keep, service="acumatica"),
                holder=holder or f"r-{uuid4().hex}",
            )
        finally:
            await access.aclose()

    def department(
        self, unit_id: str, name: str, *, kind: str = "department", **changes: Any
    ) -> DepartmentChanged:
        values: dict[str, Any] = {
            "connection_id": self.source_id,
            "occurred_at": _BASE,
            "source_updated_at": _BASE,
            "kind": kind,
            "unit_id": unit_id,
            "name": name,
            "active": True,
        }
        values.update(changes)
        return DepartmentChanged(**values)

    def employee(self, employee_id: str, *, version: int = 1, **changes: Any) -> EmployeeChanged:
        values: dict[str, Any] = {
            "connection_id": self.source_id,
            "occurred_at": _BASE + timedelta(minutes=version),
            "source_updated_at": _BASE + timedelta(minutes=version),
            "employee_id": employee_id,
            "status": "active",
            "first_name": "Ava",
            "last_name": f"Nguyen{employee_id}",
            "work_email": f"ava.{employee_id}@acme.example",
            "department": "Research",
            "division": "Europe",
        }
        values.update(changes)
        return EmployeeChanged(**values)

    async def state(self, collection: str) -> list[dict[str, Any]]:
        answer = await self.control.get(f"/_sandbox/state/{collection}")
        answer.raise_for_status()
        return list(answer.json())

    async def by_email(self, email: str) -> list[dict[str, Any]]:
        return [
            e
            for e in await self.state("employees")
            if str((e.get("ContactInfo") or {}).get("Email") or "").lower() == email.lower()
        ]

    async def set_options(self, **options: Any) -> None:
        async with self.store.transaction() as repos:
            await repos.links.update(self.link_id, options=options)

    def last(self, employee_id: str) -> SyncOutcome:
        return [o for o in self.outcomes if o.entity_key == employee_id][-1]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    sandbox = AcumaticaSandbox(settings=AcumaticaSandboxSettings(throttle_delay_scale=0.0))
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with (
            serve(build_app(sandbox)) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            creds = (await control.post("/_sandbox/credentials")).json()
            target = await store_connection(store, vault, creds, f"{server.base_url}/AcumaticaERP")
            async with store.transaction() as repos:
                source = await repos.connections.create(
                    vendor="bamboohr", tenant_id="default", display_name="HR"
                )
                link = await repos.links.create(
                    source_connection_id=source.id, target_connection_id=target, flow=FLOW
                )
            yield World(control, store, vault, source.id, link.id)
            closed = (await control.post("/_sandbox/actions/end_sessions", json={})).json()
            assert closed["closed"] == 0, "a session was left signed in"
    finally:
        await store.close()


async def test_a_hire_into_a_new_department_creates_the_department_first(world: World) -> None:
    async with world.sink() as sink:
        await sink.employee_changed(world.employee("1"))

    outcome = world.last("1")
    assert (outcome.status, outcome.operation) == ("applied", "create_department+create_employee")
    departments = {d["DepartmentID"]: d["Description"] for d in await world.state("departments")}
    assert departments["RESEARCH"] == "Research"
    [employee] = await world.by_email("ava.1@acme.example")
    assert employee["EmployeeSettings"]["DepartmentID"] == "RESEARCH"
    assert employee["Status"] == "Active"
    assert outcome.target_ids["employee"] == employee["EmployeeID"]


async def test_a_department_acumatica_has_is_adopted_a_move_follows_a_leaver_stays_inactive(
    world: World,
) -> None:
    async with world.sink() as sink:
        await sink.employee_changed(world.employee("2", department="administration "))
        assert world.last("2").operation == "adopt_department+create_employee"
        await sink.employee_changed(world.employee("2", version=2, department="Research"))
        assert world.last("2").operation == "create_department+update_employee"
        await sink.employee_changed(
            world.employee("2", version=3, department="Research", status="terminated")
        )
        assert world.last("2").operation == "deactivate_employee"
        await sink.employee_changed(world.employee("2", version=3, status="terminated"))
        assert world.last("2").status == "unchanged"

    [employee] = await world.by_email("ava.2@acme.example")
    assert (employee["Status"], employee["EmployeeSettings"]["DepartmentID"]) == (
        "Inactive",
        "RESEARCH",
    )


async def test_a_published_department_is_created_before_anyone_is_hired_into_it(
    world: World,
) -> None:
    async with world.departments_sink() as departments, world.sink() as employees:
        await departments.list_changed(world.department("18", "Client Services"))
        created = world.last("department:18")
        await departments.list_changed(world.department("18", "Client Services"))
        again = world.last("department:18")
        await employees.employee_changed(world.employee("10", department="Client Services"))

    assert (created.status, created.operation) == ("applied", "create_department")
    assert created.target_ids == {"department": "CLIENTSERV"}
    assert (again.status, again.target_ids) == ("unchanged", {"department": "CLIENTSERV"})
    departments_now = {
        d["DepartmentID"]: d["Description"] for d in await world.state("departments")
    }
    assert departments_now["CLIENTSERV"] == "Client Services"
    assert world.last("10").operation == "create_employee"  # its department was there
    [employee] = await world.by_email("ava.10@acme.example")
    assert employee["EmployeeSettings"]["DepartmentID"] == "CLIENTSERV"


async def test_the_two_sinks_of_one_process_create_a_new_department_once(world: World) -> None:
    """The list event and the first hire into a department arrive together, in one process
    (one lease holder): one of them creates the department, the other finds it recorded."""
    process = f"acumatica-{uuid4().hex}"
    names = [f"Studio {n}" for n in range(6)]
    # Slow department writes: the other sink arrives while the first one's is under way.
    slow = {"path": "/Department$", "method": "PUT", "status": 0, "delay_ms": 200}
    assert (await world.control.post("/_sandbox/faults", json=slow)).is_success
    async with world.departments_sink(process) as departments, world.sink(process) as employees:
        await asyncio.gather(
            *(departments.list_changed(world.department(str(30 + n), name))
              for n, name in enumerate(names)),
            *(employees.employee_changed(world.employee(str(40 + n), department=name))
              for n, name in enumerate(names)),
        )  # fmt: skip

    operations = [o.operation for o in world.outcomes]
    assert not any("adopt_department" in op for op in operations), operations
    assert sum("create_department" in op for op in operations) == len(names), operations


async def test_a_renamed_department_keeps_its_code_and_late_events_of_the_old_name_land_on_it(
    world: World,
) -> None:
    async with world.departments_sink() as departments, world.sink() as employees:
        await departments.list_changed(world.department("19", "Delivery"))
        await departments.list_changed(
            world.department("19", "Project Delivery", previous_name="Delivery")
        )
        renamed = world.last("department:19")
        await employees.employee_changed(world.employee("11", department="Delivery"))
        await employees.employee_changed(world.employee("12", department="Project Delivery"))

    assert (renamed.status, renamed.operation) == ("applied", "rename_department")
    departments_now = {
        d["DepartmentID"]: d["Description"] for d in await world.state("departments")
    }
    assert departments_now["DELIVERY"] == "Project Delivery"
    assert "PROJECTDEL" not in departments_now
    for hire in ("11", "12"):
        [employee] = await world.by_email(f"ava.{hire}@acme.example")
        assert employee["EmployeeSettings"]["DepartmentID"] == "DELIVERY"


async def test_only_the_kind_the_link_makes_departments_of_is_taken(world: World) -> None:
    before = await world.state("departments")
    async with world.departments_sink() as departments:
        await departments.list_changed(world.department("7", "Asia", kind="division"))
        await departments.list_changed(
            JobTitleChanged(
                connection_id=world.source_id,
                occurred_at=_BASE,
                source_updated_at=_BASE,
                job_title_id="3",
                name="Analyst",
                active=True,
            )
        )
        await departments.list_changed(world.department("20", "Legal", active=False))
        await world.set_options(department_from="division")
        await departments.list_changed(world.department("7", "Asia", kind="division"))
        await departments.list_changed(world.department("21", "Tax"))

    archived = world.last("department:20")
    assert (archived.status, archived.operation) == ("unchanged", "compare")
    assert world.last("division:7").operation == "create_department"
    assert [o.entity_key for o in world.outcomes] == ["department:20", "division:7"]
    after = {d["DepartmentID"] for d in await world.state("departments")}
    assert after - {d["DepartmentID"] for d in before} == {"ASIA"}


async def test_someone_already_in_acumatica_is_matched_by_email_and_a_new_leaver_is_not_made(
    world: World,
) -> None:
    grace = world.employee(
        "3",
        first_name="Grace",
        last_name="Holloway",
        work_email="Grace.Holloway@AcmeCreative.example",
        department="Administration",
    )
    async with world.sink() as sink:
        await sink.employee_changed(grace)
        await sink.employee_changed(world.employee("4", status="terminated"))

    assert world.last("3").operation.startswith("adopt_employee")
    assert world.last("3").target_ids["employee"] == "EP00000003"
    assert len(await world.by_email("grace.holloway@acmecreative.example")) == 1
    assert world.last("4").status == "unchanged"
    assert await world.by_email("ava.4@acme.example") == []


async def test_link_options_choose_the_department_and_its_code(world: World) -> None:
    await world.set_options(
        department_from="division_department", department_codes={"Europe / Research": "EURRES"}
    )
    async with world.sink() as sink:
        await sink.employee_changed(world.employee("5"))
        await sink.employee_changed(world.employee("6", department="Marketing"))
        await world.set_options(department_from="by team")
        await sink.employee_changed(world.employee("7"))

    departments = {d["DepartmentID"]: d["Description"] for d in await world.state("departments")}
    assert departments["EURRES"] == "Europe / Research"
    assert departments["EUROPEMARK"] == "Europe / Marketing"
    review = world.last("7")
    assert review.status == "needs_review"
    assert "department_from" in review.detail


async def _drift(world: World) -> str:
    """One drift read of the link (as a poll tick would run it); its summary's detail."""
    settings = AcumaticaSettings()
    access = AcumaticaAccess(store=world.store, vault=world.vault, settings=settings)

    async def keep(event: SyncOutcome, *, cause: Event) -> None:
        world.outcomes.append(event)

    outcomes = Outcomes(keep, service="acumatica")
    drift = DriftRead(
        store=world.store,
        outcomes=outcomes,
        service="acumatica",
        holder="drift",
        lease_ttl=timedelta(seconds=30),
    )
    source = AcumaticaSource(store=world.store, access=access, drift=drift, service="acumatica")
    async with world.store.transaction() as repos:
        link = await repos.links.get(world.link_id)
    assert link is not None
    now = datetime.now(UTC)
    tick = PollTick(
        connection_id=link.target_connection_id,
        occurred_at=now,
        vendor="acumatica",
        schedule="poll",
        due_at=now.isoformat(),
        entity_key="tick:poll",
    )
    try:
        await source.on_poll(tick)
    finally:
        await access.aclose()
    return world.last(summary_key(world.link_id)).detail


async def test_a_hand_edit_is_found_by_the_drift_read_and_put_back_once(world: World) -> None:
    async with world.sink() as sink:
        await sink.employee_changed(world.employee("8"))
        await sink.employee_changed(world.employee("9"))
    await world.control.delete("/_sandbox/requests")
    assert await _drift(world) == "2 checked, 0 repaired, 0 failed"
    # Checked from the one listing: a person as we left them costs no read of their own.
    assert await _employee_reads(world) == ["GET /Employee"]
    [record] = await world.by_email("ava.8@acme.example")
    await world.control.post("/_sandbox/clock", json={"advance_seconds": 5})
    edited = await world.control.post(
        "/_sandbox/actions/edit_employee",
        json={
            "employee_id": record["EmployeeID"],
            "changes": {"Status": "Inactive", "ContactInfo": {"Phone1": "555-0100"}},
        },
    )
    assert edited.status_code == 200, edited.text

    # Both hires share the watermark's second, which is read again (the overlap): 2 checked.
    await world.control.delete("/_sandbox/requests")
    assert await _drift(world) == "2 checked, 1 repaired, 0 failed"
    # The edited one alone is read again, under its lease, before it is put back.
    assert await _employee_reads(world) == [
        "GET /Employee",
        f"GET /Employee/{record['EmployeeID']}",
        "PUT /Employee",
    ]

    [repaired] = await world.by_email("ava.8@acme.example")
    assert repaired["Status"] == "Active"
    assert repaired["ContactInfo"]["Phone1"] == "555-0100"  # not ours: left alone
    repair = world.last("8")
    assert (repair.status, repair.operation) == ("applied", "repair_employee")
    # Our own repair comes back once, in step; then nothing is left to read.
    assert await _drift(world) == "1 checked, 0 repaired, 0 failed"


async def test_a_preview_names_the_department_and_employee_writes_and_makes_neither(
    world: World,
) -> None:
    async with world.store.transaction() as repos:
        link = await repos.links.get(world.link_id)
    assert link is not None
    unit = world.department("19", "Field Research")
    hire = world.employee("11", department="Field Research")
    async with world.departments_sink() as departments, world.sink() as employees:
        planned_unit = await departments.preview(unit, link)
        planned_hire = await employees.preview(hire, link)
        nothing_made = (
            await world.state("departments"),
            await world.by_email("ava.11@acme.example"),
        )
        assert departments.accepts(unit, link)
        done_unit = await departments.apply(unit, link)
        done_hire = await employees.apply(hire, link)

    assert (planned_unit.status, planned_unit.action) == ("applied", "create")
    assert planned_unit.operation == done_unit.operation == "create_department"
    # The employee's preview cannot know the department is about to be made: it names both.
    assert (planned_hire.status, planned_hire.action) == ("applied", "create")
    assert planned_hire.operation == "create_department+create_employee"
    assert done_hire.operation == "create_employee"
    departments_then, employee_then = nothing_made
    assert all(d["Description"] != "Field Research" for d in departments_then)
    assert employee_then == []


async def _employee_reads(world: World) -> list[str]:
    """The Employee calls the sandbox logged, as "METHOD /Employee[/id]", in order."""
    logged = (await world.control.get("/_sandbox/requests")).raise_for_status().json()
    return [
        f"{r['method']} /Employee{r['path'].split('/Employee', 1)[1]}"
        for r in logged
        if "/Employee" in r["path"]
    ]


async def _department_puts(world: World) -> int:
    logged = (await world.control.get("/_sandbox/requests")).raise_for_status().json()
    return sum(
        1
        for r in logged
        if r["method"] == "PUT" and "/Department" in r["path"] and int(r["status"]) < 400
    )


async def _mappings(world: World) -> list[tuple[str, str, str]]:
    async with world.store.transaction() as repos:
        rows = await repos.mappings.list(world.link_id)
    return sorted((m.kind, m.source_value, m.target_value) for m in rows)


async def test_a_department_preview_writes_nothing_and_names_what_the_apply_then_does(
    world: World,
) -> None:
    async with world.store.transaction() as repos:
        link = await repos.links.get(world.link_id)
    assert link is not None
    delivery = world.department("19", "Delivery")
    renamed = world.department("19", "Project Delivery", previous_name="Delivery")
    by_hand = world.department("22", "Administration")  # the sandbox has it, made by hand
    async with world.departments_sink() as departments:
        await departments.apply(delivery, link)
        for event, operation, action in [
            (renamed, "rename_department", "update"),
            (by_hand, "adopt_department", "update"),
        ]:
            puts, mappings = await _department_puts(world), await _mappings(world)

            planned = await departments.preview(event, link)

            assert (planned.status, planned.operation, planned.action) == (
                "applied",
                operation,
                action,
            )
            assert await _department_puts(world) == puts, "a preview wrote to Acumatica"
            assert await _mappings(world) == mappings, "a preview wrote to the store"
            async with world.store.transaction() as repos:
                key = event.name.casefold()
                assert await repos.leases.get(f"acumatica-department:{link.id}:{key}") is None
            done = await departments.apply(event, link)
            assert (done.status, done.operation) == (planned.status, planned.operation)
            assert done.target_ids == planned.target_ids
            assert (await departments.preview(event, link)).status == "unchanged"
