"""Flow 3 end to end: BambooHR -> Acumatica on the dev stack (real Kafka, real HTTP).

One stack for the module (``StackPlan.for_demo`` with flow ``people-acumatica`` alone):
the ingest, the ``bamboohr`` and ``acumatica`` services as processes, both sandboxes on
sockets, Acumatica connected with its password and linked. Changes are played in the
BambooHR sandbox (its signed webhooks reach the ingest); the Employee records and
departments are read from the Acumatica sandbox, the outcomes from ``sync.outcome``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from sandboxes.kit import wait_until
from tests.e2e.flow_people_stack import PeopleFlowStack, running_flow, said


@pytest.fixture(scope="module")
async def flow(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PeopleFlowStack]:
    run_dir = tmp_path_factory.mktemp("flow-people-acumatica-stack")
    async with running_flow(kafka_bootstrap, run_dir, "people-acumatica", "acumatica") as stack:
        yield stack


@pytest.fixture(autouse=True)
async def neutral(flow: PeopleFlowStack) -> None:
    """Each test starts from the stack as if it ran first (see PeopleFlowStack.neutral)."""
    await flow.neutral()


async def _records(flow: PeopleFlowStack, email: str) -> list[dict[str, Any]]:
    return [
        e
        for e in await flow.state(flow.target_sandbox, "employees")
        if str((e.get("ContactInfo") or {}).get("Email") or "").lower() == email.lower()
    ]


async def _only_record(flow: PeopleFlowStack, email: str) -> dict[str, Any]:
    found = await _records(flow, email)
    assert len(found) == 1, found
    return found[0]


async def test_a_hire_into_a_new_department_creates_it_first_then_moves_and_leaves(
    flow: PeopleFlowStack,
) -> None:
    listed = await flow.control(
        flow.bamboohr, "actions/add_list_option", {"list": "department", "option": "Labs"}
    )
    [labs_id] = [str(o["id"]) for o in listed["options"] if o["name"] == "Labs"]
    email = flow.email("Mae", "Jemison")
    employee_id = await flow.hire("Mae", "Jemison", "Labs", "Software Engineer")

    hired = await flow.answered(employee_id, lambda _: True, message="the hire written")
    # The hire names a department the source had not listed, so the source publishes the
    # list first; the departments sink and the employee's own write race to create it.
    # Either way it is created once, before the employee.
    listed_once = await wait_until(
        lambda: flow.outcomes(f"department:{labs_id}"),
        timeout_seconds=60,
        message="the department event answered",
    )
    creates = [o["operation"] for o in [hired, *listed_once]].count
    assert hired["operation"] in ("create_department+create_employee", "create_employee"), said(
        hired
    )
    assert creates("create_department") + creates("create_department+create_employee") == 1
    departments = {
        d["DepartmentID"]: d["Description"]
        for d in await flow.state(flow.target_sandbox, "departments")
    }
    assert departments["LABS"] == "Labs"
    record = await _only_record(flow, email)
    assert record["EmployeeSettings"]["DepartmentID"] == "LABS"
    assert hired["target_ids"]["employee"] == record["EmployeeID"]

    move = {"employeeId": employee_id, "department": "Engineering"}
    await flow.control(flow.bamboohr, "actions/change_department", move)
    moved = await flow.answered(
        employee_id, lambda e: e.get("department") == "Engineering", message="the move written"
    )
    assert moved["status"] == "applied", said(moved)
    assert (await _only_record(flow, email))["EmployeeSettings"]["DepartmentID"] == "ENGINEERIN"

    await flow.control(flow.bamboohr, "actions/terminate", {"employeeId": employee_id})
    left = await flow.answered(
        employee_id, lambda e: e.get("status") == "terminated", message="the leaver written"
    )
    assert left["operation"] == "deactivate_employee", said(left)
    assert (await _only_record(flow, email))["Status"] == "Inactive"  # kept, not deleted


async def test_a_duplicated_webhook_writes_once(flow: PeopleFlowStack) -> None:
    _, outcomes = await flow.hire_with_each_webhook_twice("Annie", "Easley", answer_seconds=120)

    assert len([o for o in outcomes if o["status"] == "applied"]) == 1, outcomes
    assert len(await _records(flow, flow.email("Annie", "Easley"))) == 1


async def test_sessions_ended_by_an_administrator_are_signed_in_again_once(
    flow: PeopleFlowStack,
) -> None:
    ended = await flow.control(flow.target_sandbox, "actions/end_sessions")
    assert ended["closed"] == 1  # the service holds one session, not one per call
    employee_id = await flow.hire("Hedy", "Lamarr", "Engineering", "Software Engineer")

    hired = await flow.answered(employee_id, lambda _: True, message="the hire written")

    assert hired["status"] == "applied", said(hired)
    assert len(await _records(flow, flow.email("Hedy", "Lamarr"))) == 1
    again = await flow.control(flow.target_sandbox, "actions/end_sessions")
    assert again["closed"] == 1


async def test_a_429_storm_delays_a_burst_of_hires_without_losing_or_doubling_one(
    flow: PeopleFlowStack,
) -> None:
    since = await flow.now(flow.target_sandbox)
    storm = {"path": r"/Employee$", "method": "PUT", "status": 429, "count": 4}
    await flow.control(flow.target_sandbox, "faults", storm)
    names = [("Dorothy", "Vaughan"), ("Evelyn", "Boyd"), ("Gladys", "West")]
    hires = {
        await flow.hire(first, last, "Engineering", "Software Engineer"): flow.email(first, last)
        for first, last in names
    }
    for employee_id in hires:
        written = await flow.answered(employee_id, lambda _: True, message=f"{employee_id}")
        assert written["status"] == "applied", said(written)

    answer = await flow.http.get(f"{flow.target_sandbox}/_sandbox/requests")
    refused = [
        r
        for r in answer.json()
        if r["status"] == 429 and datetime.fromisoformat(str(r["time"])) >= since
    ]
    assert len(refused) == 4, refused  # the whole storm was met, and waited out
    for email in hires.values():
        assert len(await _records(flow, email)) == 1, email


async def test_a_lost_webhook_is_caught_by_one_reconcile(flow: PeopleFlowStack) -> None:
    since = await flow.now(flow.bamboohr)
    await flow.webhook_faults(flow.bamboohr, drop=2)  # a hire sends created, then updated
    employee_id = await flow.hire("Ada", "Yonath", "Engineering", "Software Engineer")

    async def dropped() -> int | None:
        sent = await flow.deliveries_since(flow.bamboohr, since)
        lost = len([d for d in sent if d["outcome"] == "dropped"])
        return lost if lost == 2 else None

    await wait_until(dropped, timeout_seconds=30, message="both deliveries dropped")
    assert await flow.events("people.employee", flow.source, employee_id) == []

    tick_id = await flow.reconcile(flow.source)
    hired = await flow.answered(employee_id, lambda _: True, message="the reconciled hire")
    assert hired["status"] == "applied", said(hired)
    assert hired["correlation_id"] == tick_id  # the tick, not a webhook, brought it
    assert len(await _records(flow, flow.email("Ada", "Yonath"))) == 1


async def test_a_hand_edit_in_acumatica_is_put_back_by_the_drift_read(
    flow: PeopleFlowStack,
) -> None:
    email = flow.email("Mary", "Jackson")
    employee_id = await flow.hire("Mary", "Jackson", "Engineering", "Software Engineer")
    await flow.answered(employee_id, lambda _: True, message="the hire written")
    record = await _only_record(flow, email)
    await flow.control(flow.target_sandbox, "clock", {"advance_seconds": 5})
    await flow.control(
        flow.target_sandbox,
        "actions/edit_employee",
        {"employee_id": record["EmployeeID"], "changes": {"Status": "Inactive"}},
    )

    tick_id = await flow.reconcile(flow.target)

    async def repaired() -> dict[str, Any] | None:
        # Caused by the Acumatica connection's tick, so keyed under that connection.
        found = [
            o
            for o in await flow.outcomes(employee_id, flow.target)
            if str(o.get("correlation_id")) == tick_id and o["operation"] == "repair_employee"
        ]
        return found[0] if found else None

    repair = await wait_until(repaired, timeout_seconds=120, message="the repair outcome")
    assert repair["status"] == "applied", said(repair)
    assert (await _only_record(flow, email))["Status"] == "Active"


async def test_the_service_killed_mid_batch_leaves_no_session_open_and_no_employee_twice(
    flow: PeopleFlowStack,
) -> None:
    """SIGKILL gives the service no chance to sign out; its successor carries on in the
    same session (kept encrypted in the store), so the licence shows one seat taken, not
    two, and no sign-in is spent on the restart."""
    since = await flow.now(flow.target_sandbox)

    async def requests(method: str, path_end: str) -> list[dict[str, Any]]:
        answer = await flow.http.get(f"{flow.target_sandbox}/_sandbox/requests")
        answer.raise_for_status()
        return [
            r
            for r in answer.json()
            if r["method"] == method
            and str(r["path"]).endswith(path_end)
            and datetime.fromisoformat(str(r["time"])) >= since
        ]

    first_names = ["Alan", "Edsger", "Barbara", "Donald", "Frances"]
    first_names += ["John", "Margaret", "Niklaus", "Radia", "Tim"]
    hires = {
        await flow.hire(first, "Batch", "Engineering", "Software Engineer"): flow.email(
            first, "Batch"
        )
        for first in first_names
    }

    async def some_written() -> bool:
        return len(await requests("PUT", "/Employee")) >= 2

    await wait_until(some_written, timeout_seconds=60, interval_seconds=0.1, message="mid-batch")
    victim, env = flow.kill("acumatica")
    killed_at = await flow.now(flow.target_sandbox)
    assert len(await requests("PUT", "/Employee")) < len(hires), "the batch was over at the kill"
    await flow.restart(victim, env)

    for employee_id in hires:
        written = await flow.answered(employee_id, lambda _: True, message=f"{employee_id}")
        assert written["status"] in ("applied", "unchanged"), said(written)
    for email in hires.values():
        assert len(await _records(flow, email)) == 1, email
    monitor = await flow.control(flow.target_sandbox, "actions/license_monitor")
    assert monitor["api_sessions"] == 1, monitor  # the killed one's, carried on
    sign_ins = [
        r
        for r in await requests("POST", "/entity/auth/login")
        if datetime.fromisoformat(str(r["time"])) >= killed_at
    ]
    assert sign_ins == [], sign_ins


async def test_a_wrong_endpoint_version_is_reported_at_ping_with_the_served_ones(
    flow: PeopleFlowStack,
) -> None:
    credentials = await flow.control(flow.target_sandbox, "credentials")
    fields = ("base_url", "username", "password", "tenant", "branch", "endpoint")
    given = {name: str(credentials[name]) for name in fields}
    operator = {"Authorization": f"Bearer {flow.info.operator_token}"}
    added = await flow.http.post(
        f"{flow.info.ingest}/api/v1/connections",
        json={
            "vendor": "acumatica",
            "display_name": "ERP, wrong version",
            "credentials": {**given, "version": "19.100.001"},
        },
        headers=operator,
    )
    assert added.status_code == 201, added.text
    connection_id = str(added.json()["id"])
    try:
        pinged = await flow.http.post(
            f"{flow.info.ingest}/api/v1/connections/{connection_id}/ping", headers=operator
        )
        verdict = pinged.json()
        assert verdict["ok"] is False, verdict
        assert "does not serve endpoint Default/19.100.001" in verdict["detail"], verdict
        assert "Default/24.200.001" in verdict["detail"], verdict
    finally:
        removed = await flow.http.delete(
            f"{flow.info.ingest}/api/v1/connections/{connection_id}", headers=operator
        )
        assert removed.is_success, removed.text
