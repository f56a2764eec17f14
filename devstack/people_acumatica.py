"""Flow ``people-acumatica`` played on the running stack: what ``make demo`` shows of it.

1. backfills: a reconcile of the BambooHR connection, waited for until the acumatica
   service answered every employee (departments first: each department a code, then the
   Employee records);
2. HR adds a department to BambooHR's list and hires someone into it: Acumatica has no
   such department, so it is created first, then the Employee; then a department move and
   a termination (Inactive, never deleted) in the BambooHR sandbox,
   each waited for until Acumatica answered;
3. prints the BambooHR employees beside their Acumatica Employee records and the audit
   chain of the hire.

:func:`play` raises DemoFailedError with what was seen when a step did not happen.
"""

from __future__ import annotations

from devstack.driving import note, sandbox_action, sandbox_state, step
from devstack.flows import FLOWS
from devstack.people_flows import (
    FlowLog,
    backfill,
    play_change,
    print_audit_chain,
    webhook_registered,
)
from devstack.stack import StackInfo
from devstack.table import employees_table

__all__ = ["NAME", "play"]

NAME = "people-acumatica"
SOURCE, TARGET = next((f.source, f.target) for f in FLOWS if f.name == NAME)
NEW_DEPARTMENT = "Research"


async def play(info: StackInfo) -> None:
    """Backfill, a hire into a new department, a move and a termination, each waited for."""
    flow = FlowLog(info.kafka, info.connections[SOURCE], service=TARGET)
    via_webhook = await webhook_registered(info)
    if not via_webhook:
        note("no BambooHR webhook is registered: each change is picked up by a reconcile")
    await backfill(info, flow)

    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    active = [e for e in employees if e.get("status") == "Active"]
    mover, leaver = active[5], active[6]
    other = next(e["department"] for e in active if e["department"] != mover["department"])
    step(f"HR adds {NEW_DEPARTMENT!r} to BambooHR's departments (Acumatica has no such one)")
    await sandbox_action(
        info.sandboxes[SOURCE], "add_list_option", {"list": "department", "option": NEW_DEPARTMENT}
    )
    hired = await play_change(
        info,
        flow,
        title=f"a hire in BambooHR into {NEW_DEPARTMENT!r}, a department Acumatica lacks",
        action="hire",
        payload={
            "firstName": "Katherine",
            "lastName": "Johnson",
            "workEmail": "katherine.johnson@acmecreative.example",
            "department": NEW_DEPARTMENT,
            "jobTitle": mover.get("jobTitle"),
        },
        employee_id=lambda answer: str(answer["id"]),
        done=lambda event: True,
        via_webhook=via_webhook,
    )
    await play_change(
        info,
        flow,
        title=f"a move in BambooHR: {mover['displayName']} {mover['department']} -> {other}",
        action="change_department",
        payload={"employeeId": mover["id"], "department": other},
        employee_id=lambda _: str(mover["id"]),
        done=lambda event: event.get("department") == other,
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

    step("BambooHR employees beside their Acumatica Employee records")
    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    records = await sandbox_state(info.sandboxes[TARGET], "employees")
    marks = {hired: "hired", str(mover["id"]): "moved", str(leaver["id"]): "left"}
    print(employees_table(employees, await flow.outcomes(), records, marks), flush=True)
    await print_audit_chain(info, flow, hired)
    print(
        "\nOK: backfill, a hire into a new department, a move and a termination reached Acumatica."
    )
