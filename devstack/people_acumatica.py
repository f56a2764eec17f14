"""Flow ``people-acumatica`` played on the running stack: what ``make demo`` shows of it.

1. backfills: a reconcile of the BambooHR connection, waited for until the acumatica
   service answered every employee (departments first: each department a code, then the
   Employee records);
2. HR adds a department to BambooHR's list: a reconcile publishes the list and the
   acumatica service creates the department (departments first); HR hires someone into it
   and the Employee is written with its code; then a department move and a termination
   (Inactive, never deleted) in the BambooHR sandbox, each waited for until Acumatica
   answered;
3. prints the BambooHR employees beside their Acumatica Employee records and the audit
   chain of the hire.

:func:`play` raises DemoFailedError with what was seen when a step did not happen.
"""

from __future__ import annotations

from devstack.driving import (
    DemoFailedError,
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
    await department_first(info, flow)
    hired = await play_change(
        info,
        flow,
        title=f"a hire in BambooHR into {NEW_DEPARTMENT!r}",
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


async def department_first(info: StackInfo, flow: FlowLog) -> None:
    """HR adds a department; BambooHR sends no webhook for a list, so a reconcile publishes
    it, and the acumatica service creates it before anyone is hired into it."""
    step(f"HR adds {NEW_DEPARTMENT!r} to BambooHR's departments (Acumatica has no such one)")
    listed = await sandbox_action(
        info.sandboxes[SOURCE], "add_list_option", {"list": "department", "option": NEW_DEPARTMENT}
    )
    option_ids = [
        str(o["id"]) for o in listed.get("options", []) if o.get("name") == NEW_DEPARTMENT
    ]
    if not option_ids:
        msg = f"BambooHR's department list has no {NEW_DEPARTMENT!r} after adding it: {listed}"
        raise DemoFailedError(msg)
    key = f"department:{option_ids[0]}"
    note(await request_reconcile(info, flow.connection_id))

    async def created() -> tuple[str | None, str]:
        answers = (await flow.outcomes()).get(key, [])
        done = [a for a in answers if a.get("status") in ("applied", "unchanged")]
        if not done:
            return None, f"{len(answers)} answers for {key}"
        last = done[-1]
        code = (last.get("target_ids") or {}).get("department", "?")
        return f"{last['status']} {last['operation']}: {code}", f"{last['operation']} {code}"

    made = await wait_with_progress(
        f"department {NEW_DEPARTMENT!r} in Acumatica", created, deadline_seconds=120
    )
    note(f"department {NEW_DEPARTMENT!r} -> {made}, before anyone is hired into it")
