"""One people flow's whole local stack for a benchmark, and a watch on what it publishes.

:func:`flow_stack` starts what ``make demo`` starts for one flow (:mod:`devstack.stack`:
the BambooHR sandbox and the flow's target sandbox (FreshBooks for flow 1, Zoho Books for
flow 2) with their default seeds and default limits, the webhook edge and the control
plane (each its own process, as deployed, where ``make demo`` runs them as one), both
vendors' services, both accounts connected through their OAuth consent and linked) on the
benchmark's broker, in a temporary run dir on free ports, and stops it afterwards.

:class:`FlowWatch` reads ``people.employee`` and ``sync.outcome`` from their beginning,
keeping the events of this stack's BambooHR connection (a new one per stack), so a
benchmark can tell when a change was published and when the target was written.

Once linked, the stack syncs the 40-person default company by itself (the first sync
of a connection reads everyone); :meth:`FlowStack.settle` waits for that to be over,
so a benchmark never measures its own work queued behind it, and
:meth:`FlowStack.budget_at_rest` for its calls to leave the target's request window, so a
benchmark's first change does not wait for a budget the first sync spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from devstack.flows import Flow, flows_named
from devstack.ops_metrics import metric_samples
from devstack.ports import free_port
from devstack.stack import StackInfo, StackPlan, start_stack, stop_stack
from services.runtime.settings import RuntimeSettings
from services.runtime.topics_admin import partition_counts

__all__ = ["FlowStack", "FlowWatch", "LoggedRequest", "flow_stack"]

EMPLOYEE_TOPIC = "people.employee"
OUTCOME_TOPIC = "sync.outcome"
SETTLE_TIMEOUT_SECONDS = 240.0
BUDGET_METRIC = "mlc_vendor_budget_use_ratio"
BUDGET_AT_REST = 0.25
"""A target budget this little in use leaves a benchmark's changes its whole rate."""
BUDGET_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One line of a sandbox's request log."""

    method: str
    path: str
    status: int


@dataclass
class FlowWatch:
    """EmployeeChanged and SyncOutcome events of the stack's connections, as they arrive.

    A people flow's outcomes carry its BambooHR connection; flow ap-bill's carry FreshBooks'
    (bills to BILL) or BILL's (payments back), so the watch keeps every connection of the
    stack (each new per stack).
    """

    bootstrap: str
    connection_ids: frozenset[str]
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by event_id
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Read the topics from their beginning; returns once the consumer is assigned."""
        self._task = asyncio.create_task(self._run())
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not self._ready.is_set():
            ready.cancel()
            await self._task  # raises what stopped it

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def outcomes_after(self, moment: datetime) -> list[dict[str, Any]]:
        return [o for o in self.outcomes if _when(o) >= moment]

    def outcome_of(self, change_event_id: str) -> dict[str, Any] | None:
        """The sink's answer to one EmployeeChanged (its causation)."""
        return next((o for o in self.outcomes if o.get("causation_id") == change_event_id), None)

    async def _run(self) -> None:
        counts = await partition_counts(self.bootstrap, (EMPLOYEE_TOPIC, OUTCOME_TOPIC))
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topic, number)
                for topic, partition_count in sorted(counts.items())
                for number in range(partition_count)
            ]
            if not partitions:
                msg = f"{EMPLOYEE_TOPIC} and {OUTCOME_TOPIC} do not exist on {self.bootstrap}"
                raise RuntimeError(msg)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            self._ready.set()
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        self._note(record.value)
        finally:
            await consumer.stop()

    def _note(self, value: bytes | None) -> None:
        if not value:
            return
        try:
            event = orjson.loads(value)
        except orjson.JSONDecodeError:
            return
        if not isinstance(event, dict) or event.get("connection_id") not in self.connection_ids:
            return
        if event.get("type") == "EmployeeChanged":
            self.changes[str(event["event_id"])] = event
        elif event.get("type") == "SyncOutcome":
            self.outcomes.append(event)


def _when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["recorded_at"]))


@dataclass
class FlowStack:
    """The running stack: where things are, the watch, and calls on the two sandboxes."""

    info: StackInfo
    watch: FlowWatch
    http: httpx.AsyncClient
    flow: Flow
    run_dir: Path
    plan: StackPlan

    @property
    def settings(self) -> dict[str, str]:
        """The ``MLC_*`` variables every process of the stack was given."""
        return dict(self.plan.settings)

    @property
    def consuming(self) -> str:
        """How the stack's subscribers take their messages, for a benchmark's note."""
        fields = RuntimeSettings.model_fields
        named = {
            "MLC_CONSUMER_WORKERS": fields["consumer_workers"].default,
            "MLC_CONSUMER_BATCH": fields["consumer_batch"].default,
            "MLC_CONSUMER_LANES": fields["consumer_lanes"].default,
        }
        return ", ".join(f"{name}={self.settings.get(name, d)}" for name, d in named.items())

    @property
    def source(self) -> str:
        """The source's sandbox (BambooHR for the people flows, FreshBooks for ap-bill)."""
        return self.info.sandboxes[self.flow.source]

    @property
    def bamboohr(self) -> str:
        return self.source

    @property
    def target(self) -> str:
        """The target's sandbox (FreshBooks for flow 1, Zoho Books for flow 2)."""
        return self.info.sandboxes[self.flow.target]

    @property
    def freshbooks(self) -> str:
        return self.info.sandboxes["freshbooks"]

    @property
    def source_connection(self) -> str:
        return self.info.connections[self.flow.source]

    async def state(self, sandbox: str, collection: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{sandbox}/_sandbox/state/{collection}")
        answer.raise_for_status()
        return list(answer.json())

    async def requests(self, sandbox: str) -> list[LoggedRequest]:
        """The sandbox's request log (vendor API calls only; control calls are not logged)."""
        answer = await self.http.get(f"{sandbox}/_sandbox/requests")
        answer.raise_for_status()
        return [
            LoggedRequest(str(r["method"]), str(r["path"]), int(r["status"])) for r in answer.json()
        ]

    async def forget_requests(self, sandbox: str) -> None:
        (await self.http.delete(f"{sandbox}/_sandbox/requests")).raise_for_status()

    async def settle(self, *, timeout_seconds: float = SETTLE_TIMEOUT_SECONDS) -> None:
        """Wait until every BambooHR employee has an outcome (the first sync ended)."""
        wanted = {str(e["id"]) for e in await self.state(self.bamboohr, "employees")}
        deadline = time.monotonic() + timeout_seconds
        while True:
            answered = {str(o.get("entity_key")) for o in self.watch.outcomes}
            if wanted <= answered:
                return
            if time.monotonic() > deadline:
                msg = (
                    f"the first sync left {len(wanted - answered)} of {len(wanted)} employees "
                    f"without a {self.flow.target} outcome after {timeout_seconds:.0f} s"
                )
                raise TimeoutError(msg)
            await asyncio.sleep(0.5)  # poll: the watch fills in the background

    async def budget_at_rest(
        self, *, below: float = BUDGET_AT_REST, timeout_seconds: float = BUDGET_TIMEOUT_SECONDS
    ) -> None:
        """Wait until the target service uses less than ``below`` of every connection's
        request budget (its ``mlc_vendor_budget_use_ratio``): a first sync can spend a
        whole window (Zoho's 100 calls a minute, Acumatica's 300), and a change timed
        then would measure that wait, not the flow."""
        ops = self.info.ops[self.flow.target]
        deadline = time.monotonic() + timeout_seconds
        while True:
            samples = await metric_samples(self.http, ops, BUDGET_METRIC)
            if samples is not None and all(s.value < below for s in samples):
                return
            if time.monotonic() > deadline:
                used = max((s.value for s in samples or ()), default=float("nan"))
                msg = (
                    f"{self.flow.target}'s request budget was still {used:.0%} in use "
                    f"{timeout_seconds:.0f} s after the first sync (waited for < {below:.0%})"
                )
                raise TimeoutError(msg)
            await asyncio.sleep(1.0)  # poll: the service samples its budgets every second

    async def request_sync(self) -> None:
        """``mlc connections sync <source connection>``: a ReconcileTick, a full backfill."""
        answer = await self.http.post(
            f"{self.info.control}/api/v1/connections/{self.source_connection}/sync",
            headers={"Authorization": f"Bearer {self.info.operator_token}"},
        )
        if not answer.is_success:
            msg = f"connections sync answered {answer.status_code}: {answer.text[:200]}"
            raise RuntimeError(msg)


WORKER_SETTINGS: Final = {"MLC_CONSUMER_WORKERS": "6"}
"""A flow stack whose subscribers each run a worker per partition of their topic (the
catalog's 6): one replica deployed to use the machine (issue 17, goals 1 and 4)."""


def _ignore(_: str) -> None:
    """The stack's progress lines are not part of a benchmark's output."""


@asynccontextmanager
async def flow_stack(
    bootstrap: str,
    *,
    flow_name: str = "people-freshbooks",
    run_dir: Path | None = None,
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[FlowStack]:
    """The stack of flow ``flow_name`` on ``bootstrap``, running for the block.

    ``settings``: ``MLC_*`` variables for every process of the stack (a raised budget, say).
    """
    [flow] = flows_named([flow_name])
    with tempfile.TemporaryDirectory(prefix="mlc-bench-flow-") as scratch:
        plan = StackPlan(
            run_dir=run_dir or Path(scratch),
            sandboxes=(flow.source, flow.target),
            sandbox_ports={flow.source: free_port(), flow.target: free_port()},
            flows=(flow,),
            ingest_port=free_port(),
            # The edge and the control plane apart, as deployed: each its own footprint row.
            control_port=free_port(),
            kafka_port=free_port(),  # unused: the broker is given
            kafka_bootstrap=bootstrap,
            settings=dict(settings or {}),
            fresh=True,
            # Free when probed, taken by the time a server binds it: start it on another.
            ports_picked=True,
        )
        try:
            info = await start_stack(plan, _ignore)
            not_running = [name for name, state in info.services.items() if state != "running"]
            if not_running:
                msg = f"flow services not running: {', '.join(not_running)}"
                raise RuntimeError(msg)
            watch = FlowWatch(bootstrap, frozenset(info.connections.values()))
            await watch.start()
            try:
                async with httpx.AsyncClient(timeout=60.0) as client:
                    yield FlowStack(
                        info=info,
                        watch=watch,
                        http=client,
                        flow=flow,
                        run_dir=plan.run_dir,
                        plan=plan,
                    )
            finally:
                await watch.stop()
        finally:
            await asyncio.to_thread(stop_stack, plan, _ignore)
