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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from devstack.stack import StackInfo
from devstack.table import people_table
from services.runtime.audit_trail import (
    EntityRef,
    entity_topics,
    format_chain,
    read_entity_chains,
    read_events,
)
from services.vendors import TOPICS

__all__ = ["NAME", "play"]

NAME = "people-freshbooks"
# Its vendors as the flow list has them; the sandbox collections below are theirs.
SOURCE, TARGET = next((f.source, f.target) for f in FLOWS if f.name == NAME)

BACKFILL_DEADLINE_SECONDS = 240.0
CHANGE_DEADLINE_SECONDS = 90.0


@dataclass
class FlowLog:
    """What the log says about the BambooHR connection's employees, read again on each call.

    ``service`` is the sink whose outcomes count: every people flow's sink answers the same
    BambooHR events, so the outcomes are told apart by who wrote them.
    """

    bootstrap: str
    connection_id: str
    service: str

    async def employees(self) -> dict[str, list[dict[str, Any]]]:
        """EmployeeChanged events per employee id, oldest first."""
        return await self._by_employee("people.employee", "EmployeeChanged")

    async def outcomes(self) -> dict[str, list[dict[str, Any]]]:
        """The sink's outcomes per employee id, oldest first."""
        return await self._by_employee("sync.outcome", "SyncOutcome", service=self.service)

    async def _by_employee(
        self, topic: str, kind: str, *, service: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        found = await read_events(
            self.bootstrap,
            topics=[topic],
            keep=lambda logged: (
                logged.event.get("type") == kind
                and logged.event.get("connection_id") == self.connection_id
                and (service is None or logged.event.get("service") == service)
            ),
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for logged in sorted(found, key=lambda logged: str(logged.event.get("recorded_at"))):
            grouped.setdefault(str(logged.event.get("entity_key")), []).append(logged.event)
        return grouped


async def webhook_registered(info: StackInfo) -> bool:
    """Whether the ingest registered its webhook for the BambooHR connection."""
    hooks = await sandbox_state(info.sandboxes[SOURCE], "webhooks")
    connection_id = info.connections[SOURCE]
    return any(connection_id in str(hook.get("url", "")) for hook in hooks)


def outcome_counts(outcomes: dict[str, list[dict[str, Any]]]) -> str:
    latest = [events[-1]["status"] for events in outcomes.values()]
    counts = {status: latest.count(status) for status in sorted(set(latest))}
    return ", ".join(f"{status} {count}" for status, count in counts.items()) or "none yet"


async def backfill(info: StackInfo, flow: FlowLog) -> None:
    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    step(f"backfilling the {len(employees)}-person agency: a reconcile of the BambooHR connection")
    note(await request_reconcile(info, flow.connection_id))
    wanted = {str(e["id"]) for e in employees}

    async def check() -> tuple[bool | None, str]:
        published, outcomes = await flow.employees(), await flow.outcomes()
        answered = wanted & set(outcomes)
        progress = (
            f"{len(wanted & set(published))}/{len(wanted)} published by bamboohr, "
            f"{len(answered)}/{len(wanted)} answered by freshbooks ({outcome_counts(outcomes)})"
        )
        return (True if answered == wanted else None), progress

    await wait_with_progress("backfill", check, deadline_seconds=BACKFILL_DEADLINE_SECONDS)


async def play_change(
    info: StackInfo,
    flow: FlowLog,
    *,
    title: str,
    action: str,
    payload: dict[str, Any],
    employee_id: Callable[[dict[str, Any]], str],
    done: Callable[[dict[str, Any]], bool],
    via_webhook: bool,
) -> str:
    """Run a sandbox action and wait until the sink answered the change it made."""
    step(title)
    answer = await sandbox_action(info.sandboxes[SOURCE], action, payload)
    who = employee_id(answer)
    if via_webhook:
        note(f"BambooHR fires its signed webhook for employee {who} at the ingest")
    else:
        note(await request_reconcile(info, flow.connection_id))

    async def check() -> tuple[str | None, str]:
        changes = [e for e in (await flow.employees()).get(who, []) if done(e)]
        if not changes:
            return None, f"waiting for bamboohr to publish employee {who}'s change"
        caused = {str(e["event_id"]) for e in changes}
        answers = [
            o for o in (await flow.outcomes()).get(who, []) if str(o.get("causation_id")) in caused
        ]
        if not answers:
            return None, f"published; waiting for freshbooks to write employee {who}"
        last = answers[-1]
        targets = ", ".join(f"{k}={v}" for k, v in sorted(last.get("target_ids", {}).items()))
        return who, f"freshbooks answered {last['status']} {last['operation']} {targets}".strip()

    return await wait_with_progress(title, check, deadline_seconds=CHANGE_DEADLINE_SECONDS)


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

    step(f"audit chain of the new hire: mlc audit bamboohr:{hired}")
    chains = await read_entity_chains(
        info.kafka,
        EntityRef(SOURCE, hired),
        topics=entity_topics(SOURCE, TOPICS),
        connection_ids=[flow.connection_id],
    )
    if not chains:
        raise DemoFailedError(f"the log holds no chain for bamboohr:{hired}")
    for chain in chains:
        print(format_chain(chain), flush=True)
    written = [
        e.event
        for chain in chains
        for e in chain
        if e.event.get("type") == "SyncOutcome" and e.event.get("status") == "applied"
    ]
    if not written:
        raise DemoFailedError(f"the audit chain of bamboohr:{hired} shows no write to FreshBooks")
    print("\nOK: backfill, hire, department change and termination reached FreshBooks.")
