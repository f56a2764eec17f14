"""Flow ``people-freshbooks`` played on the running stack: what ``make demo`` shows of it.

1. backfills the 40-person agency: a reconcile of the BambooHR connection
   (``mlc connections sync``, through the operator API);
2. plays a hire, a department change and a termination in the BambooHR sandbox
   (its control API, which fires BambooHR's signed webhooks at the ingest);
3. waits for each (progress on the way, a deadline each), prints the BambooHR
   employees beside their FreshBooks records and the audit chain of the new hire.

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
from devstack.table import people_table

__all__ = ["NAME", "play"]

NAME = "people-freshbooks"
# Its vendors as the flow list has them; the sandbox collections below are theirs.
SOURCE, TARGET = next((f.source, f.target) for f in FLOWS if f.name == NAME)


async def play(info: StackInfo) -> None:
    """Backfill, a hire, a department change and a termination, each waited for."""
    flow = FlowLog(info.kafka, info.connections[SOURCE], service=TARGET)
    via_webhook = await webhook_registered(info)
    if not via_webhook:
        note(
            "the ingest registered no BambooHR webhook (its log, ingest.log, says why): "
            "each change below is picked up by a reconcile instead"
        )
    await backfill(info, flow)

    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    active = [e for e in employees if e.get("status") == "Active"]
    mover, leaver = active[1], active[2]
    new_department = next(e["department"] for e in active if e["department"] != mover["department"])
    # Job titles are a list the account keeps; the hire takes an engineer's.
    engineer = next(e for e in active if e["department"] == "Engineering")
    hired = await play_change(
        info,
        flow,
        title="a hire in BambooHR: Ada Lovelace, Engineering",
        action="hire",
        payload={
            "firstName": "Ada",
            "lastName": "Lovelace",
            "workEmail": "ada.lovelace@acmecreative.example",
            "department": "Engineering",
            "division": engineer["division"],
            "jobTitle": engineer["jobTitle"],
        },
        employee_id=lambda answer: str(answer["id"]),
        done=lambda event: True,
        via_webhook=via_webhook,
    )
    await play_change(
        info,
        flow,
        title=(
            f"a department change in BambooHR: {mover['displayName']} "
            f"{mover['department']} -> {new_department}"
        ),
        action="change_department",
        payload={"employeeId": mover["id"], "department": new_department},
        employee_id=lambda _: str(mover["id"]),
        done=lambda event: event.get("department") == new_department,
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

    step("BambooHR employees beside their FreshBooks records")
    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    staff = await sandbox_state(info.sandboxes[TARGET], "staff")
    members = await sandbox_state(info.sandboxes[TARGET], "team_members")
    marks = {hired: "hired", str(mover["id"]): "moved", str(leaver["id"]): "left"}
    print(people_table(employees, await flow.outcomes(), staff, members, marks), flush=True)

    await print_audit_chain(info, flow, hired)
    print("\nOK: backfill, hire, department change and termination reached FreshBooks.")
