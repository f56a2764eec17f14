"""What every people flow's demo play does on the running stack: the BambooHR side.

A people flow's sink answers BambooHR's employees; its play backfills (a reconcile of the
BambooHR connection), plays changes with the BambooHR sandbox's actions (which fire its
signed webhooks at the ingest) and waits for each until the flow's own sink answered it,
with progress on the way and a deadline each. :class:`FlowLog` reads the log again on each
call; the sink is told apart by the outcomes' ``service``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from devstack.driving import (
    DemoFailedError,
    note,
    request_reconcile,
    sandbox_action,
    sandbox_state,
    step,
    wait_with_progress,
)
from devstack.stack import StackInfo
from services.runtime.audit_trail import (
    EntityRef,
    entity_topics,
    format_chain,
    read_entity_chains,
    read_events,
)
from services.vendors import TOPICS

__all__ = [
    "SOURCE",
    "FlowLog",
    "backfill",
    "outcome_counts",
    "play_change",
    "print_audit_chain",
    "webhook_registered",
]

SOURCE: Final = "bamboohr"
BACKFILL_DEADLINE_SECONDS = 240.0
CHANGE_DEADLINE_SECONDS = 90.0


@dataclass
class FlowLog:
    """What the log says about one connection's records, read again on each call.

    ``service`` is the sink whose outcomes count: every people flow's sink answers the same
    BambooHR events, so the outcomes are told apart by who wrote them (flow ap-bill reads
    its bill and payment outcomes the same way).
    """

    bootstrap: str
    connection_id: str
    service: str

    async def employees(self) -> dict[str, list[dict[str, Any]]]:
        """EmployeeChanged events per employee id, oldest first."""
        return await self._by_employee("people.employee", "EmployeeChanged")

    async def outcomes(self) -> dict[str, list[dict[str, Any]]]:
        """The sink's outcomes per record (entity key), oldest first."""
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
    """A reconcile of the BambooHR connection, waited for until the sink answered everyone."""
    employees = await sandbox_state(info.sandboxes[SOURCE], "employees")
    step(f"backfilling the {len(employees)}-person agency: a reconcile of the BambooHR connection")
    note(await request_reconcile(info, flow.connection_id))
    wanted = {str(e["id"]) for e in employees}

    async def check() -> tuple[bool | None, str]:
        published, every_outcome = await flow.employees(), await flow.outcomes()
        # Only the people: the same link also answers list options (department:..., ...).
        outcomes = {key: found for key, found in every_outcome.items() if key in wanted}
        answered = wanted & set(outcomes)
        progress = (
            f"{len(wanted & set(published))}/{len(wanted)} published by bamboohr, "
            f"{len(answered)}/{len(wanted)} answered by {flow.service} ({outcome_counts(outcomes)})"
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
            return None, f"published; waiting for {flow.service} to write employee {who}"
        last = answers[-1]
        targets = ", ".join(f"{k}={v}" for k, v in sorted(last.get("target_ids", {}).items()))
        return (
            who,
            f"{flow.service} answered {last['status']} {last['operation']} {targets}".strip(),
        )

    return await wait_with_progress(title, check, deadline_seconds=CHANGE_DEADLINE_SECONDS)


async def print_audit_chain(info: StackInfo, flow: FlowLog, employee_id: str) -> None:
    """``mlc audit bamboohr:<id>``: print the employee's chains; fail without a write."""
    step(f"audit chain of the new hire: mlc audit {SOURCE}:{employee_id}")
    chains = await read_entity_chains(
        info.kafka,
        EntityRef(SOURCE, employee_id),
        topics=entity_topics(SOURCE, TOPICS),
        connection_ids=[flow.connection_id],
    )
    if not chains:
        raise DemoFailedError(f"the log holds no chain for {SOURCE}:{employee_id}")
    for chain in chains:
        print(format_chain(chain), flush=True)
    written = [
        e.event
        for chain in chains
        for e in chain
        if e.event.get("type") == "SyncOutcome"
        and e.event.get("status") == "applied"
        and e.event.get("service") == flow.service
    ]
    if not written:
        raise DemoFailedError(
            f"the audit chain of {SOURCE}:{employee_id} shows no write by {flow.service}"
        )
