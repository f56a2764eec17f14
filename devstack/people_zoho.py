"""Flow ``people-zoho`` played on the running stack: what ``make demo`` shows of it.

1. backfills: a reconcile of the BambooHR connection, waited for until the zoho service
   answered every employee (each becomes a contact in the EU organisation);
2. plays a hire, a job-title change and a termination in the BambooHR sandbox (its
   signed webhooks reach the ingest), each waited for until Zoho Books answered;
3. adds a list option on each side (a cost centre in Zoho's Department tag, a job title in
   BambooHR's list: neither fires a webhook, so each is followed by that side's reconcile,
   as its schedule would) and waits until it is on the other side;
4. prints the BambooHR employees beside their Zoho contacts and the audit chain of the
   hire.

:func:`play` raises DemoFailedError with what was seen when a step did not happen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devstack.driving import (
    note,
    request_reconcile,
    sandbox_action,
    sandbox_state,
    step,
    wait_with_progress,
)
from devstack.flows import FLOWS
from devstack.people_flows import (
    FlowLog,
    backfill,
    play_change,
    print_audit_chain,
    webhook_registered,
)
from devstack.stack import StackInfo
from devstack.table import contacts_table

__all__ = ["NAME", "play"]

LIST_DEADLINE_SECONDS = 120

NAME = "people-zoho"
SOURCE, TARGET = next((f.source, f.target) for f in FLOWS if f.name == NAME)


async def play(info: StackInfo) -> None:
    """Backfill, a hire, a job-title change and a termination, each waited for."""
    flow = FlowLog(info.kafka, info.connections[SOURCE], service=TARGET)
    via_webhook = await webhook_registered(info)
    if not via_webhook:
        note("no BambooHR webhook is registered: each change is picked up by a reconcile")
    await backfill(info, flow)

    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    active = [e for e in employees if e.get("status") == "Active"]
    promoted, leaver = active[3], active[4]
    new_title = next(e["jobTitle"] for e in active if e["jobTitle"] != promoted["jobTitle"])
    consultant = next(e for e in active if e.get("jobTitle"))
    hired = await play_change(
        info,
        flow,
        title="a hire in BambooHR: Grace Hopper, a consultant",
        action="hire",
        payload={
            "firstName": "Grace",
            "lastName": "Hopper",
            "workEmail": "grace.hopper@acmecreative.example",
            "department": consultant["department"],
            "division": consultant["division"],
            "jobTitle": consultant["jobTitle"],
        },
        employee_id=lambda answer: str(answer["id"]),
        done=lambda event: True,
        via_webhook=via_webhook,
    )
    await play_change(
        info,
        flow,
        title=(
            f"a job-title change in BambooHR: {promoted['displayName']} "
            f"{promoted['jobTitle']} -> {new_title}"
        ),
        action="change_job_title",
        payload={"employeeId": promoted["id"], "jobTitle": new_title},
        employee_id=lambda _: str(promoted["id"]),
        done=lambda event: event.get("job_title") == new_title,
        via_webhook=via_webhook,
    )
    await play_change(
        info,
        flow,
        title=f"a termination in BambooHR: {leaver['displayName']}",
        action="terminate",
        payload={"employeeId": leaver["id"]},
        employee_id=lambda _: str(leaver["id"]),
        done=lambda event: event.get("status") == "terminated",
        via_webhook=via_webhook,
    )

    cost_centre, new_title = "Cost Centre North", "Principal Consultant"
    await play_list_option(
        info,
        title=f"Finance adds a cost centre in Zoho Books: Department tag option {cost_centre!r}",
        side=TARGET,
        action="add_option",
        payload={"tag": "Department", "option": cost_centre},
        arrived=lambda: _bamboohr_has(info, "department", cost_centre),
    )
    await play_list_option(
        info,
        title=f"HR adds a job title in BambooHR: {new_title!r}",
        side=SOURCE,
        action="add_list_option",
        payload={"list": "jobTitle", "option": new_title},
        arrived=lambda: _zoho_has(info, "Job Title", new_title),
    )

    step("BambooHR employees beside their Zoho Books contacts")
    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    contacts = await sandbox_state(info.sandboxes[TARGET], "contacts")
    marks = {hired: "hired", str(promoted["id"]): "new title", str(leaver["id"]): "left"}
    print(contacts_table(employees, await flow.outcomes(), contacts, marks), flush=True)
    await print_audit_chain(info, flow, hired)
    print(
        "\nOK: backfill, hire, job-title change and termination reached Zoho Books; a list "
        "option added on each side reached the other."
    )


async def play_list_option(
    info: StackInfo,
    *,
    title: str,
    side: str,
    action: str,
    payload: dict[str, Any],
    arrived: Callable[[], Any],
) -> None:
    """A list option added by hand on ``side``, that side's reconcile, and the other side's
    list waited for until it holds the option."""
    step(title)
    await sandbox_action(info.sandboxes[side], action, payload)
    note("no webhook for a list: the reconcile its schedule would run, now")
    note(await request_reconcile(info, info.connections[side]))

    async def check() -> tuple[bool | None, str]:
        if await arrived():
            return True, "on the other side"
        return None, "waiting for the other side's list"

    await wait_with_progress(title, check, deadline_seconds=LIST_DEADLINE_SECONDS)


async def _bamboohr_has(info: StackInfo, alias: str, option: str) -> bool:
    lists = await sandbox_state(info.sandboxes[SOURCE], "lists")
    return any(
        o["name"] == option and o["archived"] == "no"
        for field in lists
        if field.get("alias") == alias
        for o in field["options"]
    )


async def _zoho_has(info: StackInfo, tag_name: str, option: str) -> bool:
    tags = await sandbox_state(info.sandboxes[TARGET], "reporting_tags")
    return any(
        o["tag_option_name"] == option and o["is_active"]
        for tag in tags
        if tag["tag_name"] == tag_name
        for o in tag["tag_options"]
    )
