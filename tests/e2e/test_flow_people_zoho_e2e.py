"""Flow 2 end to end: BambooHR -> Zoho Books on the dev stack (real Kafka, real HTTP).

One stack for the module (``StackPlan.for_demo`` with flow ``people-zoho`` alone): the
ingest, the ``bamboohr`` and ``zoho`` services as processes, both sandboxes on sockets,
Zoho connected through its consent in the EU region and linked. Every change is played in
a sandbox as a person would (BambooHR's signed webhooks reach the ingest); reconciles are
asked through the operator API as the schedule would. The contacts are read from the Zoho
sandbox, the calls from its request log, the outcomes from ``sync.outcome``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from sandboxes.kit import wait_until
from tests.e2e.flow_people_stack import PeopleFlowStack, running_flow, said

# A Zoho write may queue up to a minute behind earlier work in the organisation's budget
# (95 calls a minute), on two cores shared with the rest of the suite.
ZOHO_WRITE_SECONDS = 150


@pytest.fixture(scope="module")
async def flow(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PeopleFlowStack]:
    run_dir = tmp_path_factory.mktemp("flow-people-zoho-stack")
    async with running_flow(kafka_bootstrap, run_dir, "people-zoho", "zoho") as stack:
        yield stack


@pytest.fixture(autouse=True)
async def neutral(flow: PeopleFlowStack) -> None:
    """Each test starts from the stack as if it ran first (see PeopleFlowStack.neutral)."""
    await flow.neutral()


# --- reading the Zoho side ------------------------------------------------------------------


async def _contacts(flow: PeopleFlowStack, email: str) -> list[dict[str, Any]]:
    wanted = email.lower()
    return [
        c
        for c in await flow.state(flow.target_sandbox, "contacts")
        if any(str(p.get("email", "")).lower() == wanted for p in c.get("contact_persons", []))
    ]


async def _only_contact(flow: PeopleFlowStack, email: str) -> dict[str, Any]:
    found = await _contacts(flow, email)
    assert len(found) == 1, found
    return found[0]


async def _api_calls(flow: PeopleFlowStack, since: datetime) -> list[dict[str, Any]]:
    answer = await flow.http.get(f"{flow.target_sandbox}/_sandbox/requests")
    answer.raise_for_status()
    return [
        r
        for r in answer.json()
        if datetime.fromisoformat(str(r["time"])) >= since and "/_sandbox/" not in r["path"]
    ]


async def _answer_after_leaving(flow: PeopleFlowStack, employee_id: str) -> dict[str, Any] | None:
    """The sink's answer to the first active snapshot published after a terminated one."""
    back: set[str] = set()
    left = False
    for change in await flow.events("people.employee", flow.source, employee_id):
        left = left or change.get("status") == "terminated"
        if left and change.get("status") == "active":
            back.add(str(change["event_id"]))
    answers = [
        o
        for o in await flow.outcomes(employee_id)
        if str(o["causation_id"]) in back and o["status"] != "failed"
    ]
    return answers[0] if answers else None


async def _tag_options(flow: PeopleFlowStack, tag_name: str) -> dict[str, bool]:
    tags = await flow.state(flow.target_sandbox, "reporting_tags")
    [tag] = [t for t in tags if t["tag_name"] == tag_name]
    return {o["tag_option_name"]: bool(o["is_active"]) for o in tag["tag_options"]}


async def _bamboohr_options(flow: PeopleFlowStack, alias: str) -> dict[str, str]:
    lists = await flow.state(flow.bamboohr, "lists")
    [field] = [f for f in lists if f.get("alias") == alias]
    return {str(o["name"]): str(o["archived"]) for o in field["options"]}


# --- the story ----------------------------------------------------------------------------


async def test_a_hire_becomes_a_contact_follows_a_title_change_leaves_and_comes_back(
    flow: PeopleFlowStack,
) -> None:
    since = await flow.now(flow.target_sandbox)
    email = flow.email("Grace", "Hopper")
    employee_id = await flow.hire("Grace", "Hopper", "Engineering", "Software Engineer")

    hired = await flow.answered(employee_id, lambda _: True, message="the hire written")
    assert (hired["status"], hired["operation"]) == ("applied", "create_contact"), said(hired)
    contact = await _only_contact(flow, email)
    assert contact["contact_name"] == "Grace Hopper"
    [person] = contact["contact_persons"]
    assert (person["designation"], person["department"]) == ("Software Engineer", "Engineering")
    assert hired["target_ids"]["contact"] == contact["contact_id"]

    await flow.control(
        flow.bamboohr,
        "actions/change_job_title",
        {"employeeId": employee_id, "jobTitle": "Designer"},
    )
    moved = await flow.answered(
        employee_id, lambda e: e.get("job_title") == "Designer", message="the new title written"
    )
    assert moved["status"] == "applied", said(moved)
    [person] = (await _only_contact(flow, email))["contact_persons"]
    assert person["designation"] == "Designer"

    await flow.control(flow.bamboohr, "actions/terminate", {"employeeId": employee_id})
    left = await flow.answered(
        employee_id, lambda e: e.get("status") == "terminated", message="the leaver written"
    )
    assert "mark_inactive" in left["operation"], said(left)
    assert (await _only_contact(flow, email))["status"] == "inactive"

    # A rehire comes days later. BambooHR's webhook bodies carry whole seconds and no
    # delivery id, so a rehire in the termination's second would read as its duplicate.
    await flow.control(flow.bamboohr, "clock", {"advance_seconds": 1})
    await flow.control(flow.bamboohr, "actions/rehire", {"employeeId": employee_id})
    back = await wait_until(
        lambda: _answer_after_leaving(flow, employee_id),
        timeout_seconds=ZOHO_WRITE_SECONDS,
        message="the rehire written",
    )
    assert "mark_active" in back["operation"], said(back)
    assert (await _only_contact(flow, email))["status"] == "active"

    # An EU organisation: every API call and token refresh went to the EU hosts.
    calls = await _api_calls(flow, since)
    assert calls, "no call reached the Zoho sandbox"
    api = [c for c in calls if "/books/v3/" in c["path"]]
    assert api
    assert all(c["path"].startswith("/www.zohoapis.eu/") for c in api), api
    tokens = [c for c in calls if "/oauth/" in c["path"]]
    assert all(c["path"].startswith("/accounts.zoho.eu/") for c in tokens), tokens


async def test_a_contact_finance_made_by_hand_is_matched_by_email_not_made_again(
    flow: PeopleFlowStack,
) -> None:
    email = flow.email("Katherine", "Johnson")
    await flow.control(
        flow.target_sandbox,
        "actions/create_contact",
        {
            "contact": {
                "contact_name": "K. Johnson (contractor)",
                "contact_type": "vendor",
                "contact_persons": [
                    {"first_name": "K", "last_name": "Johnson", "email": email.upper()}
                ],
            }
        },
    )
    employee_id = await flow.hire("Katherine", "Johnson", "Engineering", "Software Engineer")

    adopted = await flow.answered(employee_id, lambda _: True, message="the hire written")
    assert adopted["operation"].startswith("adopt_contact"), said(adopted)
    contact = await _only_contact(flow, email)
    assert adopted["target_ids"]["contact"] == contact["contact_id"]
    [person] = contact["contact_persons"]
    assert person["first_name"] == "Katherine"  # ours from now on
    assert person["email"] == email.upper()  # the same address in any case: left as typed


async def test_a_duplicated_webhook_writes_once(flow: PeopleFlowStack) -> None:
    _, outcomes = await flow.hire_with_each_webhook_twice(
        "Annie", "Easley", answer_seconds=ZOHO_WRITE_SECONDS
    )

    assert len([o for o in outcomes if o["status"] == "applied"]) == 1, outcomes
    assert len(await _contacts(flow, flow.email("Annie", "Easley"))) == 1


async def test_a_lost_webhook_is_caught_by_the_links_reconcile(flow: PeopleFlowStack) -> None:
    since = await flow.now(flow.bamboohr)
    await flow.webhook_faults(flow.bamboohr, drop=2)  # a hire sends created, then updated
    email = flow.email("Hedy", "Lamarr")
    employee_id = await flow.hire("Hedy", "Lamarr", "Engineering", "Software Engineer")

    async def dropped() -> int | None:
        sent = await flow.deliveries_since(flow.bamboohr, since)
        lost = len([d for d in sent if d["outcome"] == "dropped"])
        return lost if lost == 2 else None

    await wait_until(dropped, timeout_seconds=30, message="both deliveries dropped")
    assert await flow.events("people.employee", flow.source, employee_id) == []

    # The Zoho connection's reconcile runs the link, which asks BambooHR for its own.
    await flow.reconcile(flow.target)
    hired = await flow.answered(employee_id, lambda _: True, message="the reconciled hire")
    assert hired["status"] == "applied", said(hired)
    assert len(await _contacts(flow, email)) == 1


async def test_an_email_edited_by_hand_in_zoho_is_put_back_by_the_reconcile(
    flow: PeopleFlowStack,
) -> None:
    email = flow.email("Mary", "Jackson")
    employee_id = await flow.hire("Mary", "Jackson", "Engineering", "Software Engineer")
    await flow.answered(employee_id, lambda _: True, message="the hire written")
    contact = await _only_contact(flow, email)
    [person] = contact["contact_persons"]
    await flow.control(
        flow.target_sandbox,
        "actions/edit_contact",
        {
            "contact_id": contact["contact_id"],
            "changes": {
                "notes": "prefers her home address",
                "contact_persons": [
                    {"contact_person_id": person["contact_person_id"], "email": "mj@home.example"}
                ],
            },
        },
    )
    assert await _contacts(flow, email) == []

    tick_id = await flow.reconcile(flow.target)

    async def repaired() -> dict[str, Any] | None:
        # Caused by the Zoho connection's tick, so keyed under that connection.
        outcomes = await flow.outcomes(employee_id, flow.target)
        found = [
            o
            for o in outcomes
            if str(o.get("correlation_id")) == tick_id and "repair_contact" in o["operation"]
        ]
        return found[0] if found else None

    repair = await wait_until(
        repaired, timeout_seconds=ZOHO_WRITE_SECONDS, message="the repair outcome"
    )
    assert repair["status"] == "applied", said(repair)
    again = await _only_contact(flow, email)
    assert again["notes"] == "prefers her home address"  # not ours: untouched

    link_id = repair["link_id"]

    async def summary() -> dict[str, Any] | None:
        found = [
            o
            for o in await flow.outcomes(f"reconcile:{link_id}", flow.target)
            if str(o.get("correlation_id")) == tick_id
        ]
        return found[-1] if found else None

    summed = await wait_until(
        summary, timeout_seconds=ZOHO_WRITE_SECONDS, message="the run's summary"
    )
    assert summed["status"] == "applied", said(summed)
    assert ", 0 failed" in summed["detail"]
    assert int(summed["detail"].split(" repaired")[0].rsplit(" ", 1)[-1]) >= 1


async def test_a_new_option_on_each_side_reaches_the_other(flow: PeopleFlowStack) -> None:
    await flow.control(
        flow.target_sandbox, "actions/add_option", {"tag": "Department", "option": "Cost Centre 9"}
    )
    await flow.reconcile(flow.target)

    async def in_bamboohr() -> bool:
        return (await _bamboohr_options(flow, "department")).get("Cost Centre 9") == "no"

    await wait_until(
        in_bamboohr, timeout_seconds=ZOHO_WRITE_SECONDS, message="Zoho's option in BambooHR"
    )

    await flow.control(
        flow.bamboohr, "actions/add_list_option", {"list": "jobTitle", "option": "Partner"}
    )
    await flow.reconcile(flow.source)

    async def in_zoho() -> bool:
        return (await _tag_options(flow, "Job Title")).get("Partner") is True

    await wait_until(
        in_zoho, timeout_seconds=ZOHO_WRITE_SECONDS, message="BambooHR's job title in Zoho"
    )
    # No echo: each name is once on each side.
    departments = await _tag_options(flow, "Department")
    assert list(departments).count("Cost Centre 9") == 1
    titles = await _bamboohr_options(flow, "jobTitle")
    assert list(titles).count("Partner") == 1


async def test_a_zoho_429_storm_delays_a_burst_of_hires_without_losing_or_doubling_one(
    flow: PeopleFlowStack,
) -> None:
    since = await flow.now(flow.target_sandbox)
    storm = {
        "path": r"/books/v3/contacts$",
        "status": 429,
        "count": 6,
        "body": {"code": 44, "message": "too many requests per minute"},
    }
    await flow.control(flow.target_sandbox, "faults", storm)
    names = [("Dorothy", "Vaughan"), ("Evelyn", "Boyd"), ("Gladys", "West")]
    hires = {
        await flow.hire(first, last, "Engineering", "Software Engineer"): flow.email(first, last)
        for first, last in names
    }
    for employee_id in hires:
        written = await flow.answered(employee_id, lambda _: True, message=f"{employee_id}")
        assert written["status"] == "applied", said(written)

    refused = [c for c in await _api_calls(flow, since) if c["status"] == 429]
    assert len(refused) == 6, refused  # the whole storm was met, and waited out
    for email in hires.values():
        assert len(await _contacts(flow, email)) == 1, email
