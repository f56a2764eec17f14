"""Scale-out (issue 17, goal 5): the same work through one, then two replicas of a sink.

Flow 1's stack with four FreshBooks connections (four customers' accounts; here four
connections to the sandbox's one account), each linked from the BambooHR connection, so
each change is four records to answer, one per link. The work is the replay of applied
changes (as :mod:`benchmarks.flow_replay`): every answer is ``unchanged`` and costs no
FreshBooks call, so the vendor is not the limit and what is measured is the sink's own
path (decode, links, the applied check, the outcome, the commit).

It is measured with the freshbooks service's one process, then again once a second
process of it (the same command and environment) has joined its consumer group and both
hold partitions of ``people.employee``. The ratio of the two rates is the row: the
deployment promises a service scales by adding replicas, so two should do nearly twice
the work of one (target 1.8).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any, Final

import httpx

from benchmarks.flow_backfill import FRESHBOOKS
from benchmarks.flow_replay import applied_changes, drain_copies
from benchmarks.flow_stack import EMPLOYEE_TOPIC, FlowStack
from benchmarks.results import Measurement, Target
from devstack.consent import connect_with_consent
from devstack.consumer_lag import lag_of
from devstack.flows import LINK_OPTIONS
from devstack.processes import ProcessTable
from devstack.service_processes import ServiceProcesses
from devstack.stack import ops_url

__all__ = ["SCALE_OUT_TARGET", "measure_scale_out"]

SCALE_OUT_TARGET: Final = Target(
    1.8,
    "at_least",
    "issue 17, goal 5: two replicas of a sink do at least 1.8 times the work of one when "
    "the vendor is not the limit (partitions spread, no lease serialising records)",
)
CONNECTIONS: Final = 4
_SERVICE: Final = "freshbooks"
_REPLICA: Final = 2
_FLOW: Final = "people-freshbooks"
_WAIT_SECONDS: Final = 300.0


async def measure_scale_out(
    stack: FlowStack, *, events: int, timeout_seconds: float
) -> list[Measurement]:
    """``events`` copies of applied changes, through one then two freshbooks processes."""
    links = await _link_more_connections(stack)
    changes = await _applied_everywhere(stack, links)
    one = await _drain(stack, changes, links, events=events, timeout_seconds=timeout_seconds)
    replica = await ServiceProcesses(stack.plan).start_replica(_SERVICE, _REPLICA)
    try:
        await _both_hold_partitions(stack)
        two = await _drain(stack, changes, links, events=events, timeout_seconds=timeout_seconds)
    finally:
        ProcessTable(stack.run_dir).stop(replica.name)
    note = (
        f"{events:,} copies of {len(changes)} applied changes, each answered for "
        f"{len(links)} FreshBooks connections ({events * len(links):,} records): one "
        f"freshbooks process {one:,.0f} records/s, two {two:,.0f} records/s "
        f"({stack.consuming}, each)"
    )
    return [
        Measurement(
            "flow 1: scale-out, two sink replicas over one (4 connections)",
            two / one if one > 0 else 0.0,
            "x",
            SCALE_OUT_TARGET,
            note=note,
        )
    ]


async def _link_more_connections(stack: FlowStack) -> set[str]:
    """Connect FreshBooks until there are :data:`CONNECTIONS`, each linked from BambooHR;
    the ids of every link of the flow."""
    api = httpx.AsyncClient(
        base_url=f"{stack.info.control}/api/v1",
        headers={"Authorization": f"Bearer {stack.info.operator_token}"},
        timeout=30.0,
    )
    async with api:
        for n in range(2, CONNECTIONS + 1):
            target = await connect_with_consent(
                stack.info.control,
                stack.info.operator_token,
                _SERVICE,
                display_name=f"FreshBooks customer {n}",
            )
            made = await api.post(
                "/links",
                json={
                    "source_connection_id": stack.source_connection,
                    "target_connection_id": target,
                    "flow": _FLOW,
                    "options": dict(LINK_OPTIONS.get(_FLOW, {})),
                },
            )
            made.raise_for_status()
        listed = await api.get("/links")
        listed.raise_for_status()
    return {str(link["id"]) for link in listed.json()["links"] if link["flow"] == _FLOW}


async def _applied_everywhere(stack: FlowStack, links: set[str]) -> list[dict[str, Any]]:
    """Once each new link's backfill is answered: the latest change of each person that
    every link answered applied or unchanged (a copy of it is then unchanged four times)."""
    deadline = time.monotonic() + _WAIT_SECONDS
    while True:
        answered: dict[str, set[str]] = defaultdict(set)
        for outcome in stack.watch.outcomes:
            if outcome.get("status") in ("applied", "unchanged"):
                answered[str(outcome.get("causation_id"))].add(str(outcome.get("link_id")))
        ready = [c for c in applied_changes(stack) if answered[str(c["event_id"])] >= links]
        employees = await stack.state(stack.bamboohr, "employees")
        if len(ready) >= len(employees) * 0.9:
            return ready
        if time.monotonic() > deadline:
            msg = f"only {len(ready)} of {len(employees)} people answered for every link"
            raise RuntimeError(msg)
        await asyncio.sleep(1.0)  # poll: the new links' backfills run in the background


async def _drain(
    stack: FlowStack,
    changes: list[dict[str, Any]],
    links: set[str],
    *,
    events: int,
    timeout_seconds: float,
) -> float:
    """Records answered a second for ``events`` copies of ``changes`` (each once per link)."""
    wanted = events * len(links)
    outcomes, elapsed = await drain_copies(
        stack,
        changes,
        events=events,
        answers=wanted,
        timeout_seconds=timeout_seconds,
        people_path=FRESHBOOKS.people_path,
    )
    if len(outcomes) < wanted:
        msg = f"only {len(outcomes):,} of {wanted:,} answered within {timeout_seconds:.0f} s"
        raise RuntimeError(msg)
    return len(outcomes) / elapsed


async def _both_hold_partitions(stack: FlowStack) -> None:
    """Until each freshbooks process reports lag for partitions of ``people.employee`` (its
    sampler runs every 15 s), and together they hold them all."""
    table = ProcessTable(stack.run_dir)
    names = (_SERVICE, f"{_SERVICE}-{_REPLICA}")
    deadline = time.monotonic() + _WAIT_SECONDS
    async with httpx.AsyncClient(timeout=10.0) as http:
        while True:
            held: dict[str, set[str]] = {}
            for name in names:
                process = table.get(name)
                url = ops_url(process.log) if process is not None else None
                held[name] = set() if url is None else await _partitions_held(http, url)
            if all(held.values()) and len(set.union(*held.values())) >= 6:
                return
            if time.monotonic() > deadline:
                msg = f"the two freshbooks processes did not share {EMPLOYEE_TOPIC}: {held}"
                raise RuntimeError(msg)
            await asyncio.sleep(1.0)  # poll: each process samples its lag every 15 s


async def _partitions_held(http: httpx.AsyncClient, url: str) -> set[str]:
    return {
        sample.partition
        for sample in await lag_of(http, url) or []
        if sample.topic == EMPLOYEE_TOPIC and sample.group == _SERVICE
    }
