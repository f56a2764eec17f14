"""`python -m services.demo` (what `make demo` runs): flow 1 end to end, then stop.

1. starts the stack (:mod:`services.demo.stack`): Kafka (or the one named by
   ``MLC_KAFKA_BOOTSTRAP_SERVERS`` / ``KAFKA_BOOTSTRAP_SERVERS``), the BambooHR and
   FreshBooks sandboxes, the ingest, the ``bamboohr`` and ``freshbooks`` services;
   connects both sandbox accounts through their OAuth consent and links them;
2. backfills the 40-person agency: a reconcile of the BambooHR connection
   (``mlc connections sync``, through the operator API);
3. plays a hire, a department change and a termination in the BambooHR sandbox
   (its control API, which fires BambooHR's signed webhooks at the ingest);
4. waits for each (progress on the way, a deadline each), prints the BambooHR
   employees beside their FreshBooks records and the audit chain of the new hire;
5. stops what it started. Exit 0 when every step did what it should, 1 with the
   reason when one did not.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from services.demo.stack import (
    SOURCE,
    TARGET,
    StackError,
    StackInfo,
    StackPlan,
    start_stack,
    stop_stack,
)
from services.demo.table import people_table
from services.runtime.audit_trail import (
    EntityRef,
    entity_topics,
    format_chain,
    read_entity_chains,
    read_events,
)
from services.runtime.store import StoreError
from services.vendors import TOPICS

T = TypeVar("T")

BACKFILL_DEADLINE_SECONDS = 240.0
CHANGE_DEADLINE_SECONDS = 90.0
PROGRESS_EVERY_SECONDS = 3.0


class DemoFailedError(RuntimeError):
    """A step did not do what it should; the message says what was seen."""


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def note(text: str) -> None:
    print(f"    {text}", flush=True)


@dataclass
class FlowLog:
    """What the log says about the BambooHR connection's employees, read again on each call."""

    bootstrap: str
    connection_id: str

    async def employees(self) -> dict[str, list[dict[str, Any]]]:
        """EmployeeChanged events per employee id, oldest first."""
        return await self._by_employee("people.employee", "EmployeeChanged")

    async def outcomes(self) -> dict[str, list[dict[str, Any]]]:
        """The sink's outcomes per employee id, oldest first."""
        return await self._by_employee("sync.outcome", "SyncOutcome")

    async def _by_employee(self, topic: str, kind: str) -> dict[str, list[dict[str, Any]]]:
        found = await read_events(
            self.bootstrap,
            topics=[topic],
            keep=lambda logged: (
                logged.event.get("type") == kind
                and logged.event.get("connection_id") == self.connection_id
            ),
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for logged in sorted(found, key=lambda logged: str(logged.event.get("recorded_at"))):
            grouped.setdefault(str(logged.event.get("entity_key")), []).append(logged.event)
        return grouped


async def wait_with_progress(
    what: str,
    check: Callable[[], Awaitable[tuple[T | None, str]]],
    *,
    deadline_seconds: float,
) -> T:
    """Call ``check`` until it returns a value; print its progress line when it changes."""
    started = time.monotonic()
    shown, last_shown_at = "", 0.0
    while True:
        value, progress = await check()
        if value is not None:
            note(f"{what}: {progress} ({time.monotonic() - started:.0f} s)")
            return value
        now = time.monotonic()
        if now - started > deadline_seconds:
            msg = f"{what}: not done within {deadline_seconds:.0f} s; last seen: {progress}"
            raise DemoFailedError(msg)
        # A line when something moved, and now and then while nothing does.
        quiet_for = now - last_shown_at
        if (progress != shown and quiet_for >= PROGRESS_EVERY_SECONDS) or quiet_for > 10:
            note(f"{what}: {progress} ...")
            shown, last_shown_at = progress, now
        await asyncio.sleep(1.0)  # poll: the log and the sandboxes are read again


async def request_reconcile(info: StackInfo, connection_id: str) -> str:
    """``mlc connections sync <id>``: the operator API publishes a ReconcileTick now."""
    async with httpx.AsyncClient(
        base_url=f"{info.ingest}/api/v1",
        headers={"Authorization": f"Bearer {info.operator_token}"},
        timeout=30.0,
    ) as api:
        answer = await api.post(f"/connections/{connection_id}/sync")
    if not answer.is_success:
        raise DemoFailedError(f"mlc connections sync answered {answer.status_code}: {answer.text}")
    tick = answer.json()
    return (
        f"mlc connections sync {connection_id}: ReconcileTick {tick['event_id']} on {tick['topic']}"
    )


async def sandbox_action(url: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30.0) as client:
        answer = await client.post(f"{url}/_sandbox/actions/{name}", json=payload)
    if not answer.is_success:
        raise DemoFailedError(
            f"BambooHR sandbox action {name} answered {answer.status_code}: {answer.text}"
        )
    return dict(answer.json())


async def sandbox_state(url: str, collection: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30.0) as client:
        answer = await client.get(f"{url}/_sandbox/state/{collection}")
    answer.raise_for_status()
    return list(answer.json())


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


async def run_flow(info: StackInfo) -> None:
    not_built = [name for name, state in info.services.items() if state != "running"]
    if not_built:
        step(f"{' and '.join(not_built)} not built yet: the demo ends after connecting and linking")
        note("nothing can flow from BambooHR to FreshBooks until both services run")
        return
    flow = FlowLog(info.kafka, info.connections[SOURCE])
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


def main() -> int:
    plan = StackPlan.for_demo(os.environ)
    step(f"starting the stack (logs in {plan.run_dir / 'logs'})")
    try:
        info = asyncio.run(start_stack(plan, step))
        asyncio.run(run_flow(info))
    except (DemoFailedError, StackError, StoreError, TimeoutError, httpx.HTTPError, OSError) as exc:
        print(f"\nDEMO FAILED: {exc}\n(logs: {plan.run_dir / 'logs'})", flush=True)
        return 1
    finally:
        step("stopping the stack")
        stop_stack(plan, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
