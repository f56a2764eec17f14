"""Driving a people flow's running stack from a test: sandbox actions, request logs, the bus.

:class:`PeopleFlowStack` wraps what :func:`devstack.stack.start_stack` started (the
ingest, the ``bamboohr`` service and the target's (``freshbooks`` for flow 1, ``zoho`` for
flow 2) as processes, both sandboxes over sockets, connected and linked) with the calls
the end-to-end tests of flows 1 and 2 make: play a
change in a sandbox, read what a sandbox holds and was asked, read ``sync.outcome`` and
``people.employee``, ask for a reconcile, and SIGKILL and restart a service process.

The tests of a module share one stack, yet each must pass alone and in any order:
:meth:`PeopleFlowStack.neutral` undoes, before each test, what an earlier one may have left
(fault rules, webhook fault counters, deliveries under way, a killed service).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from devstack.processes import BackgroundProcess
from devstack.service_processes import ServiceProcesses
from devstack.stack import StackInfo, StackPlan, start_stack, stop_stack
from sandboxes.kit import wait_until
from services.runtime.audit_trail import read_events

__all__ = ["PeopleFlowStack", "Request", "running_flow", "said"]

Request = dict[str, Any]


def _at(entry: Request) -> datetime:
    return datetime.fromisoformat(str(entry["time"]))


@dataclass
class PeopleFlowStack:
    """The running stack of a people flow, and one HTTP client for its sandboxes and API."""

    plan: StackPlan
    info: StackInfo
    http: httpx.AsyncClient
    target_vendor: str = "freshbooks"  # the flow's other end: "zoho" for flow 2
    # Each flow service as the stack started it, and its environment: to bring it back.
    started: dict[str, tuple[BackgroundProcess, dict[str, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, state in self.info.services.items():
            if state != "running":
                continue
            self.started[name] = ServiceProcesses(self.plan).as_started(name)

    @property
    def bamboohr(self) -> str:
        return self.info.sandboxes["bamboohr"]

    @property
    def freshbooks(self) -> str:
        return self.info.sandboxes["freshbooks"]

    @property
    def source(self) -> str:
        """The BambooHR connection's id."""
        return self.info.connections["bamboohr"]

    @property
    def target(self) -> str:
        """The target connection's id (FreshBooks for flow 1)."""
        return self.info.connections[self.target_vendor]

    @property
    def target_sandbox(self) -> str:
        return self.info.sandboxes[self.target_vendor]

    # -- the sandboxes ---------------------------------------------------------------

    async def control(self, base: str, path: str, payload: Any = None) -> Any:
        """``POST {base}/_sandbox/{path}``, which must succeed; its JSON answer."""
        answer = await self.http.post(f"{base}/_sandbox/{path}", json=payload or {})
        assert answer.is_success, f"{path}: {answer.status_code} {answer.text}"
        return answer.json()

    async def state(self, base: str, collection: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{base}/_sandbox/state/{collection}")
        answer.raise_for_status()
        return list(answer.json())

    async def now(self, base: str) -> datetime:
        """The sandbox's clock: the mark its request log and deliveries are compared with."""
        answer = await self.http.get(f"{base}/_sandbox/clock")
        answer.raise_for_status()
        return datetime.fromisoformat(str(answer.json()["now"]))

    async def requests_since(
        self, base: str, since: datetime, path: str, method: str | None = None
    ) -> list[Request]:
        """The sandbox's request log on ``path`` from ``since`` on, oldest first."""
        answer = await self.http.get(f"{base}/_sandbox/requests")
        answer.raise_for_status()
        return [
            entry
            for entry in answer.json()
            if entry["path"] == path
            and (method is None or entry["method"] == method)
            and _at(entry) >= since
        ]

    async def deliveries_since(self, base: str, since: datetime) -> list[dict[str, Any]]:
        """The sandbox's webhook delivery attempts from ``since`` on."""
        answer = await self.http.get(f"{base}/_sandbox/webhooks")
        answer.raise_for_status()
        return [d for d in answer.json()["deliveries"] if _at(d) >= since]

    async def webhook_faults(self, base: str, **counts: int) -> None:
        """Drop or duplicate the sandbox's next deliveries, keeping where they go.

        ``POST /_sandbox/webhooks`` replaces the whole configuration, and its ``url`` is
        the stack's stand-in for the TLS proxy in front of the ingest.
        """
        answer = await self.http.get(f"{base}/_sandbox/webhooks")
        answer.raise_for_status()
        await self.control(base, "webhooks", {**answer.json()["config"], **counts})

    async def hire(self, first: str, last: str, department: str, job_title: str) -> str:
        """A hire in BambooHR (its webhooks fire at the ingest); the new employee's id."""
        hired = await self.control(
            self.bamboohr,
            "actions/hire",
            {
                "firstName": first,
                "lastName": last,
                "workEmail": self.email(first, last),
                "department": department,
                "jobTitle": job_title,
            },
        )
        return str(hired["id"])

    @staticmethod
    def email(first: str, last: str) -> str:
        return f"{first.lower()}.{last.lower()}@acmecreative.example"

    async def team_members(self, email: str) -> list[dict[str, Any]]:
        return [m for m in await self.state(self.freshbooks, "team_members") if m["email"] == email]

    async def staff(self, email: str) -> list[dict[str, Any]]:
        return [s for s in await self.state(self.freshbooks, "staff") if s["email"] == email]

    # -- the bus and the operator API ------------------------------------------------

    async def events(self, topic: str, connection_id: str, entity_key: str) -> list[dict[str, Any]]:
        """The events about one entity of one connection on ``topic``, in log order."""
        key = f"{connection_id}:{entity_key}"
        found = await read_events(self.info.kafka, topics=[topic], keep=lambda e: e.key == key)
        return [e.event for e in sorted(found, key=lambda e: (e.partition, e.offset))]

    async def outcomes(self, entity_key: str, connection_id: str | None = None) -> list[Any]:
        return await self.events("sync.outcome", connection_id or self.source, entity_key)

    async def answered(
        self, employee_id: str, done: Callable[[dict[str, Any]], bool], *, message: str
    ) -> dict[str, Any]:
        """The sink's outcome for the first published change of ``employee_id`` that ``done``."""

        async def found() -> dict[str, Any] | None:
            changes = await self.events("people.employee", self.source, employee_id)
            caused = {str(c["event_id"]) for c in changes if done(c)}
            answers = [
                o
                for o in await self.outcomes(employee_id)
                if str(o["causation_id"]) in caused and o["status"] != "failed"
            ]
            return answers[0] if answers else None

        return await wait_until(found, timeout_seconds=150, interval_seconds=0.5, message=message)

    async def hire_with_each_webhook_twice(
        self, first: str, last: str, *, answer_seconds: float
    ) -> tuple[str, list[Any]]:
        """A hire whose webhooks BambooHR delivers twice each; the employee's id and the
        sink's outcomes once every published change of the hire was answered."""
        hooks_since = await self.now(self.bamboohr)
        await self.webhook_faults(self.bamboohr, duplicate=2)
        employee_id = await self.hire(first, last, "Engineering", "Software Engineer")

        async def delivered() -> bool:
            sent = await self.deliveries_since(self.bamboohr, hooks_since)
            return len([d for d in sent if d["outcome"] == "delivered"]) == 4

        await wait_until(delivered, timeout_seconds=20, message="each webhook delivered twice")

        async def all_answered() -> list[Any] | None:
            changes = await self.events("people.employee", self.source, employee_id)
            outcomes = await self.outcomes(employee_id)
            return outcomes if changes and len(outcomes) >= len(changes) else None

        outcomes = await wait_until(
            all_answered,
            timeout_seconds=answer_seconds,
            interval_seconds=0.5,
            message="every change answered",
        )
        return employee_id, outcomes

    async def backfilled(self) -> None:
        """The new link's own backfill (a full resend of the BambooHR account) answered for
        everyone, so the tests after it see only the writes their own changes cause (and,
        for Zoho, an organisation's minute not queued behind it)."""
        employees = {str(e["id"]) for e in await self.state(self.bamboohr, "employees")}

        async def everyone_answered() -> bool:
            outcomes = await read_events(
                self.info.kafka,
                topics=["sync.outcome"],
                keep=lambda e: (e.key or "").startswith(f"{self.source}:"),
            )
            answered = {
                str(o.event["entity_key"]) for o in outcomes if o.event["status"] != "failed"
            }
            return answered >= employees

        await wait_until(
            everyone_answered,
            timeout_seconds=180,
            interval_seconds=1,
            message="the link's backfill",
        )

    async def reconcile(self, connection_id: str) -> str:
        """``mlc connections sync <id>`` through the operator API: the ReconcileTick's id."""
        answer = await self.http.post(
            f"{self.info.ingest}/api/v1/connections/{connection_id}/sync",
            headers={"Authorization": f"Bearer {self.info.operator_token}"},
        )
        assert answer.is_success, answer.text
        return str(answer.json()["event_id"])

    # -- the service processes -------------------------------------------------------

    def kill(self, name: str) -> tuple[BackgroundProcess, dict[str, str]]:
        """SIGKILL the service; its process and environment, to restart it."""
        return ServiceProcesses(self.plan).kill(name)

    async def restart(self, victim: BackgroundProcess, env: dict[str, str]) -> BackgroundProcess:
        """Start the killed service again and wait until it says so."""
        return await ServiceProcesses(self.plan).restart(victim, env)

    # -- between tests ----------------------------------------------------------------

    async def neutral(self) -> None:
        """The stack as a test may expect it, whatever the tests before it did or left.

        Every flow service runs (a test that killed one may have failed before its
        restart), no fault rule waits in either sandbox (a fault is used up by the calls
        it meets; one that met none would hit the next test), no webhook fault counter is
        left, and no webhook delivery is still under way.
        """
        processes = ServiceProcesses(self.plan)
        for name, (process, env) in self.started.items():
            if not processes.running(name):
                self.started[name] = (await self.restart(process, env), env)
        for base in (self.bamboohr, self.target_sandbox):
            answer = await self.http.delete(f"{base}/_sandbox/faults")
            answer.raise_for_status()
            await self.webhook_faults(base, drop=0, duplicate=0, reorder=0, delay_ms=0)

            async def settled(base: str = base) -> bool:
                answer = await self.http.get(f"{base}/_sandbox/webhooks")
                answer.raise_for_status()
                return not answer.json()["pending"]

            await wait_until(
                settled, timeout_seconds=60, interval_seconds=0.2, message=f"{base} deliveries"
            )


@asynccontextmanager
async def running_flow(
    kafka_bootstrap: str | None,
    run_dir: Path,
    flow: str,
    target_vendor: str,
    *,
    store_url: str | None = None,
) -> AsyncIterator[PeopleFlowStack]:
    """The dev stack of ``flow`` alone on the test session's broker (None: on a broker of
    its own, which a test may stop), its backfill answered; its state store in the run
    dir, or the PostgreSQL database ``store_url``."""
    env = {"DEMO_RUN_DIR": str(run_dir)}
    if kafka_bootstrap is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    plan = replace(StackPlan.for_demo(env, [flow]), store_url=store_url)
    try:
        info = await start_stack(plan, lambda _: None)
        assert info.services == {"bamboohr": "running", target_vendor: "running"}
        async with httpx.AsyncClient(timeout=30.0) as http:
            stack = PeopleFlowStack(plan, info, http, target_vendor=target_vendor)
            await stack.backfilled()
            yield stack
    finally:
        await asyncio.to_thread(stop_stack, plan, lambda _: None)


def said(outcome: dict[str, Any]) -> str:
    """What an outcome says, for an assertion's message."""
    keys = ("entity_key", "status", "operation", "target_ids", "detail", "causation_id")
    return " ".join(f"{key}={outcome.get(key)!r}" for key in keys)
