"""Flow ``people-zoho`` played on the running stack: what ``make demo`` shows of it.

1. backfills: a reconcile of the BambooHR connection, waited for until the zoho service
   answered every employee (each becomes a contact in the EU organisation);
2. plays a hire, a job-title change and a termination in the BambooHR sandbox (its
   signed webhooks reach the ingest), each waited for until Zoho Books answered;
3. prints the BambooHR employees beside their Zoho contacts and the audit chain of the
   hire.

:func:`play` raises DemoFailedError with what was seen when a step did not happen.
"""

from __future__ import annotations

from devstack.driving import note, sandbox_state, step
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

    step("BambooHR employees beside their Zoho Books contacts")
    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    contacts = await sandbox_state(info.sandboxes[TARGET], "contacts")
    marks = {hired: "hired", str(promoted["id"]): "new title", str(leaver["id"]): "left"}
    print(contacts_table(employees, await flow.outcomes(), contacts, marks), flush=True)
    await print_audit_chain(info, flow, hired)
    print("\nOK: backfill, hire, job-title change and termination reached Zoho Books.")
