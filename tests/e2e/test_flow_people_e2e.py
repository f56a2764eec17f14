"""Flow 1 (BambooHR -> FreshBooks) end to end, over the running stack.

One stack for the module (``devstack.stack``: the ingest, ``bamboohr`` and
``freshbooks`` services as processes, both sandboxes over sockets, OAuth-connected and
linked) on the session's Kafka. Changes are played in the sandboxes, which fire their
signed webhooks at the ingest; each test asserts what FreshBooks ends up holding (its
sandbox state and request log) and what the sink said on ``sync.outcome``. The pieces'
own cases are in tests/integration/bamboohr and tests/integration/freshbooks; here they
run together, through the ingest and Kafka. The tests share the stack, yet each passes
alone and in any order: each plays its own people (its own hires, or a seeded person no
other test touches), asserts only on what its own changes caused (entity keys, request
logs and deliveries since its start), and starts from a neutral stack (``neutral`` before
each test: no fault left, every service running, no delivery under way). One test moves
FreshBooks' clock 13 h on; the others read the sandboxes' own clocks, so it may run first.

    .venv/bin/pytest -q tests/e2e/test_flow_people_e2e.py
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from devstack.stack import StackPlan, start_stack, stop_stack
from sandboxes.kit import wait_until
from tests.e2e.flow_people_stack import PeopleFlowStack, said

INVITATION = "/auth/api/v1/users/invitation"
ACCOUNT = "/accounting/account/{account_id}"


@pytest.fixture(scope="module")
async def flow(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PeopleFlowStack]:
    run_dir = tmp_path_factory.mktemp("flow-people-stack")
    plan = StackPlan.for_demo(
        {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DEMO_RUN_DIR": str(run_dir)},
        ["people-freshbooks"],  # flow 1's stack alone: these tests count its writes
    )
    try:
        info = await start_stack(plan, lambda _: None)
        assert info.services == {"bamboohr": "running", "freshbooks": "running"}
        async with httpx.AsyncClient(timeout=30.0) as http:
            stack = PeopleFlowStack(plan, info, http)
            await stack.backfilled()
            yield stack
    finally:
        await asyncio.to_thread(stop_stack, plan, lambda _: None)


@pytest.fixture(autouse=True)
async def neutral(flow: PeopleFlowStack) -> None:
    """Each test starts from the stack as if it ran first (see PeopleFlowStack.neutral)."""
    await flow.neutral()


async def _account_path(stack: PeopleFlowStack) -> str:
    credentials = await stack.control(stack.freshbooks, "credentials")
    return ACCOUNT.format(account_id=credentials["account_id"])


# The seeded people the tests below use, one each: a test that changes its person (a new
# first name) or adds to its staff record (expenses) leaves every other test's alone.
EXPENSES_PERSON, RENAMED_PERSON, TOKEN_PERSON = 0, 1, 2


async def _staffed_employee(stack: PeopleFlowStack, nth: int) -> tuple[dict[str, Any], int]:
    """The ``nth`` (from 0) active BambooHR employee with an active FreshBooks staff record
    (not the owner), in the seeds' order."""
    staff = {
        s["email"]: int(s["id"])
        for s in await stack.state(stack.freshbooks, "staff")
        if s["vis_state"] == 0 and int(s["id"]) != 1
    }
    found = [
        (employee, staff[employee["workEmail"]])
        for employee in await stack.state(stack.bamboohr, "employees")
        # Without a preferred name: the first name is then FreshBooks' fname.
        if employee["status"] == "Active"
        and not employee.get("preferredName")
        and employee["workEmail"] in staff
    ]
    assert len(found) > nth, f"the seeds share only {len(found)} active people with staff records"
    return found[nth]


def _other_department(employees: list[dict[str, Any]], current: str) -> str:
    return str(next(e["department"] for e in employees if e["department"] not in (current, None)))


async def test_a_hire_is_invited_followed_through_a_move_and_soft_deleted_when_terminated(
    flow: PeopleFlowStack,
) -> None:
    account = await _account_path(flow)
    email = flow.email("Grace", "Hopper")
    employee_id = await flow.hire("Grace", "Hopper", "Engineering", "Software Engineer")

    hired = await flow.answered(employee_id, lambda _: True, message="the hire written")
    assert hired["status"] == "applied", said(hired)
    assert hired["operation"].startswith("invite_team_member"), hired
    [member] = await flow.team_members(email)
    assert hired["target_ids"]["team_member"] == member["uuid"]

    # She accepts FreshBooks' invitation: FreshBooks gives her a staff record.
    await flow.control(flow.freshbooks, "actions/accept_invitation", {"email": email})
    [staff] = await flow.staff(email)
    employees = await flow.state(flow.bamboohr, "employees")
    department = _other_department(employees, "Engineering")
    await flow.control(
        flow.bamboohr,
        "actions/change_department",
        {"employeeId": employee_id, "department": department},
    )
    # Usually within the second of the hire, and BambooHR's lastChanged has whole seconds:
    # the same revision, yet a different snapshot, which must still be applied.
    moved = await flow.answered(
        employee_id, lambda e: e["department"] == department, message="the move written"
    )
    assert moved["status"] == "applied", said(moved)
    assert moved["target_ids"].get("staff") == str(staff["id"]), moved
    # FreshBooks people have no department field: her expenses carry the new one.
    category = (await flow.state(flow.freshbooks, "categories"))[0]["id"]
    expense = await flow.control(
        flow.freshbooks,
        "actions/create_expense",
        {"staffid": staff["id"], "categoryid": category, "amount": "9.90", "notes": "Lunch"},
    )

    async def marked() -> bool:
        notes = [
            e["notes"]
            for e in await flow.state(flow.freshbooks, "expenses")
            if e["id"] == expense["id"]
        ]
        return notes == [f"Lunch\n[Department: {department}]"]

    await wait_until(marked, timeout_seconds=60, interval_seconds=0.5, message="her expense marked")
    await flow.control(
        flow.bamboohr,
        "actions/change_job_title",
        {"employeeId": employee_id, "jobTitle": "Engineering Manager"},
    )
    retitled = await flow.answered(
        employee_id,
        lambda e: e["job_title"] == "Engineering Manager",
        message="the new title answered",
    )
    assert retitled["status"] in ("applied", "unchanged"), said(retitled)

    staff_path = f"{account}/users/staffs/{staff['id']}"
    before_leaving = await flow.now(flow.freshbooks)
    await flow.control(flow.bamboohr, "actions/terminate", {"employeeId": employee_id})
    left = await flow.answered(
        employee_id, lambda e: e["status"] == "terminated", message="the termination written"
    )
    assert left["status"] == "applied", said(left)
    [gone] = await flow.staff(email)
    assert gone["vis_state"] == 1  # soft-deleted, never removed
    assert (gone["fname"], gone["lname"]) == ("Grace", "Hopper")
    # Nothing differed but the state: one PUT, the vis_state one (FreshBooks would ignore
    # any other field sent beside it).
    puts = await flow.requests_since(flow.freshbooks, before_leaving, staff_path, "PUT")
    assert [p["status"] for p in puts] == [200], puts


async def test_an_expense_carries_its_persons_department_and_a_duplicated_callback_writes_nothing(
    flow: PeopleFlowStack,
) -> None:
    account = await _account_path(flow)
    employee, staff_id = await _staffed_employee(flow, EXPENSES_PERSON)
    marker = f"[Department: {employee['department']}]"
    category = (await flow.state(flow.freshbooks, "categories"))[0]["id"]

    async def expense_attributed(notes: str, callbacks: int) -> dict[str, Any]:
        """Create an expense as its owner would; it once attributed and ``callbacks`` answered."""
        since = await flow.now(flow.freshbooks)
        created = await flow.control(
            flow.freshbooks,
            "actions/create_expense",
            {"staffid": staff_id, "categoryid": category, "amount": "42.50", "notes": notes},
        )
        expense_id = str(created["id"])

        async def written() -> dict[str, Any] | None:
            outcomes = await flow.outcomes(f"expense:{expense_id}", flow.target)
            applied = [o for o in outcomes if o["status"] == "applied"]
            return applied[0] if applied else None

        outcome = await wait_until(
            written, timeout_seconds=60, interval_seconds=0.5, message="the expense attributed"
        )
        assert outcome["operation"], outcome

        async def settled() -> bool:
            # The create (and its duplicate) and the expense.update our own notes PUT
            # causes, each answered by the ingest; the update's outcome comes last, as
            # the connection's callbacks are one partition, in order.
            sent = [
                d
                for d in await flow.deliveries_since(flow.freshbooks, since)
                if f"object_id={expense_id}&" in d["body"] and d["status"] is not None
            ]
            outcomes = await flow.outcomes(f"expense:{expense_id}", flow.target)
            return len(sent) >= callbacks and len(outcomes) >= 2

        await wait_until(
            settled, timeout_seconds=60, interval_seconds=0.5, message="every callback answered"
        )
        [expense] = [
            e for e in await flow.state(flow.freshbooks, "expenses") if str(e["id"]) == expense_id
        ]
        puts = await flow.requests_since(
            flow.freshbooks, since, f"{account}/expenses/expenses/{expense_id}", "PUT"
        )
        outcomes = await flow.outcomes(f"expense:{expense_id}", flow.target)
        return {"expense": expense, "puts": puts, "outcomes": outcomes}

    first = await expense_attributed("Taxi to the client", callbacks=2)
    assert first["expense"]["notes"].splitlines() == ["Taxi to the client", marker]
    assert len(first["puts"]) == 1, first["puts"]

    await flow.webhook_faults(flow.freshbooks, duplicate=1)
    second = await expense_attributed("Train tickets", callbacks=3)
    assert second["expense"]["notes"].splitlines() == ["Train tickets", marker]
    assert len(second["puts"]) == 1, second["puts"]
    assert [o["status"] for o in second["outcomes"]].count("applied") == 1, second["outcomes"]


async def test_a_lost_webhook_is_caught_by_one_reconcile_tick(flow: PeopleFlowStack) -> None:
    since = await flow.now(flow.bamboohr)
    # A hire sends employee.created then employee.updated: both are lost.
    await flow.webhook_faults(flow.bamboohr, drop=2)
    email = flow.email("Hedy", "Lamarr")
    employee_id = await flow.hire("Hedy", "Lamarr", "Engineering", "Software Engineer")
    dropped = await wait_until(
        lambda: _dropped(flow, since), timeout_seconds=30, message="both deliveries dropped"
    )
    assert dropped == 2
    assert await flow.events("people.employee", flow.source, employee_id) == []

    tick_id = await flow.reconcile(flow.source)
    hired = await flow.answered(employee_id, lambda _: True, message="the reconciled hire written")
    assert hired["status"] == "applied", said(hired)
    assert hired["correlation_id"] == tick_id  # the tick, not a webhook, brought it
    [member] = await flow.team_members(email)
    assert hired["target_ids"]["team_member"] == member["uuid"]


async def _dropped(flow: PeopleFlowStack, since: datetime) -> int:
    sent = await flow.deliveries_since(flow.bamboohr, since)
    return len([d for d in sent if d["outcome"] == "dropped"])


async def test_a_duplicated_webhook_writes_once(flow: PeopleFlowStack) -> None:
    since = await flow.now(flow.freshbooks)
    _, outcomes = await flow.hire_with_each_webhook_twice("Annie", "Easley", answer_seconds=60)

    writes = [o for o in outcomes if o["status"] == "applied"]
    assert len(writes) == 1, outcomes
    assert len(await flow.team_members(flow.email("Annie", "Easley"))) == 1
    invitations = await flow.requests_since(flow.freshbooks, since, INVITATION, "POST")
    assert len(invitations) == 1, invitations


async def test_a_freshbooks_429_storm_delays_a_burst_of_hires_without_losing_or_doubling_one(
    flow: PeopleFlowStack,
) -> None:
    since = await flow.now(flow.freshbooks)
    storm = {
        "path": r"^/auth/api/v1/(users/invitation|businesses/\d+/team_members)$",
        "status": 429,
        "retry_after": 1,
        "count": 8,
        "body": {"errno": 429, "message": "Too Many Requests"},
    }
    await flow.control(flow.freshbooks, "faults", storm)
    names = [("Mary", "Jackson"), ("Dorothy", "Vaughan"), ("Evelyn", "Boyd"), ("Gladys", "West")]
    hires = {
        await flow.hire(first, last, "Engineering", "Software Engineer"): flow.email(first, last)
        for first, last in names
    }
    for employee_id in hires:
        await flow.answered(employee_id, lambda _: True, message=f"hire {employee_id} written")

    answer = await flow.http.get(f"{flow.freshbooks}/_sandbox/requests")
    refused = [
        r
        for r in answer.json()
        if r["status"] == 429 and datetime.fromisoformat(r["time"]) >= since
    ]
    assert len(refused) >= 8, refused  # the whole storm was met, and waited out
    for email in hires.values():
        assert len(await flow.team_members(email)) == 1, email
    invitations = await flow.requests_since(flow.freshbooks, since, INVITATION, "POST")
    assert len([i for i in invitations if i["status"] == 200]) == len(hires), invitations


async def test_a_bamboohr_503_with_retry_after_is_waited_out_before_the_write_lands(
    flow: PeopleFlowStack,
) -> None:
    account = await _account_path(flow)
    employee, staff_id = await _staffed_employee(flow, RENAMED_PERSON)
    employee_path = f"/acme.bamboohr.com/api/v1/employees/{employee['id']}"
    credentials = await flow.control(flow.bamboohr, "credentials")
    since = await flow.now(flow.bamboohr)
    fb_since = await flow.now(flow.freshbooks)
    await flow.control(
        flow.bamboohr,
        "faults",
        {
            "path": rf"/employees/{employee['id']}$",
            "method": "GET",
            "status": 503,
            "retry_after": 2,
        },
    )
    # Someone corrects the first name in BambooHR: one employee.updated webhook, one fetch.
    renamed = await flow.http.post(
        f"{flow.bamboohr}{employee_path}",
        json={"firstName": "Jo"},
        auth=(str(credentials["api_key"]), "x"),
    )
    assert renamed.is_success, renamed.text

    written = await flow.answered(
        str(employee["id"]), lambda e: e["first_name"] == "Jo", message="the new name written"
    )
    assert written["status"] == "applied", said(written)
    [staff] = [s for s in await flow.state(flow.freshbooks, "staff") if int(s["id"]) == staff_id]
    assert staff["fname"] == "Jo"
    staff_puts = await flow.requests_since(
        flow.freshbooks, fb_since, f"{account}/users/staffs/{staff_id}", "PUT"
    )
    assert len(staff_puts) == 1, staff_puts

    fetches = await flow.requests_since(flow.bamboohr, since, employee_path, "GET")
    assert [f["status"] for f in fetches] == [503, 200], fetches
    refused_at, retried_at = (datetime.fromisoformat(f["time"]) for f in fetches)
    assert retried_at - refused_at >= timedelta(seconds=2), fetches


async def test_a_freshbooks_service_killed_mid_burst_and_restarted_loses_and_doubles_nothing(
    flow: PeopleFlowStack,
) -> None:
    since = await flow.now(flow.freshbooks)
    first_names = ["Alan", "Edsger", "Barbara", "Donald", "Frances"]
    first_names += ["John", "Margaret", "Niklaus", "Radia", "Tim"]
    names = [(first, "Burst") for first in first_names]
    hires: dict[str, str] = {}
    for first, last in names:
        hires[await flow.hire(first, last, "Engineering", "Software Engineer")] = flow.email(
            first, last
        )

    async def some_invited() -> bool:
        invited = await flow.requests_since(flow.freshbooks, since, INVITATION, "POST")
        return len(invited) >= 2

    await wait_until(some_invited, timeout_seconds=60, interval_seconds=0.1, message="mid-burst")
    victim, env = flow.kill("freshbooks")
    invited_before_kill = len(await flow.requests_since(flow.freshbooks, since, INVITATION, "POST"))
    assert invited_before_kill < len(hires), "the burst was over before the kill"
    await flow.restart(victim, env)

    for employee_id in hires:
        await flow.answered(employee_id, lambda _: True, message=f"hire {employee_id} answered")
    for email in hires.values():
        assert len(await flow.team_members(email)) == 1, email
    # A crash between the invitation and its bookkeeping is found again, not re-invited.
    invitations = await flow.requests_since(flow.freshbooks, since, INVITATION, "POST")
    assert len(invitations) == len(hires), invitations


async def test_an_expired_freshbooks_token_met_by_two_handlers_at_once_is_refreshed_once(
    flow: PeopleFlowStack,
) -> None:
    """The access token expires (FreshBooks' clock moves 13 h on, past its 12 h life).

    A hire (``people.employee``) and an expense callback (``raw.freshbooks``) then reach
    the freshbooks service together; each meets a 401 and asks for a refresh. The
    refresh token is single-use, so a second refresh would spend a rotated token and
    lose the connection: one refresh, both writes land. The clock stays moved; the other
    tests compare FreshBooks' times only with FreshBooks' own clock, so they do not mind.
    """
    since = await flow.now(flow.freshbooks)
    employee, staff_id = await _staffed_employee(flow, TOKEN_PERSON)
    category = (await flow.state(flow.freshbooks, "categories"))[0]["id"]
    await flow.control(flow.freshbooks, "clock", {"advance_seconds": 13 * 3600})
    # A slow refresh (3 s): the second handler meets its 401 while the first one's runs.
    slow = {"path": "^/auth/oauth/token$", "method": "POST", "status": 0, "delay_ms": 3000}
    await flow.control(flow.freshbooks, "faults", slow)

    employee_id, expense = await asyncio.gather(
        flow.hire("Katherine", "Johnson", "Engineering", "Software Engineer"),
        flow.control(
            flow.freshbooks,
            "actions/create_expense",
            {"staffid": staff_id, "categoryid": category, "amount": "5.00", "notes": "Coffee"},
        ),
    )

    hired = await flow.answered(employee_id, lambda _: True, message="the hire written")
    assert hired["status"] == "applied", said(hired)
    assert len(await flow.team_members(flow.email("Katherine", "Johnson"))) == 1

    async def attributed() -> bool:
        outcomes = await flow.outcomes(f"expense:{expense['id']}", flow.target)
        return any(o["status"] == "applied" for o in outcomes)

    await wait_until(attributed, timeout_seconds=60, interval_seconds=0.5, message="expense")
    [noted] = [e for e in await flow.state(flow.freshbooks, "expenses") if e["id"] == expense["id"]]
    assert noted["notes"] == f"Coffee\n[Department: {employee['department']}]"

    log = (await flow.http.get(f"{flow.freshbooks}/_sandbox/requests")).json()
    refused = [r for r in log if r["status"] == 401 and datetime.fromisoformat(r["time"]) >= since]
    assert len(refused) >= 2, refused  # both handlers met the expired token
    refreshes = await flow.requests_since(flow.freshbooks, since, "/auth/oauth/token", "POST")
    assert [r["status"] for r in refreshes] == [200], refreshes
    answer = await flow.http.get(
        f"{flow.info.ingest}/api/v1/connections/{flow.target}",
        headers={"Authorization": f"Bearer {flow.info.operator_token}"},
    )
    assert answer.json()["status"] == "active", answer.text
