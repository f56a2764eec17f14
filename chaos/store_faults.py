"""R6: two replicas of every consumer service sharing the PostgreSQL store, whose
connections are all dropped again and again while events flow.

A second process of each vendor service joins the first (the same consumer groups, the
same store: partitions are split between them, the leases keep one record's writes to
one of them). Then, between rounds of events, every session on the store's database is
terminated at once, as a network cut or a failover would, mid-transaction or idle. No
process is restarted: each must open new connections by itself. After the run settles
(:func:`chaos.kills.settle`) every effect is counted and the second processes stop.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from chaos.kills import settle
from chaos.outages import process_ids
from chaos.postgres_store import PostgresServer
from chaos.workload import Census, Traffic, expected_effects
from devstack.processes import ProcessTable
from devstack.service_processes import ServiceProcesses
from devstack.stack import StackInfo, StackPlan

__all__ = ["StoreDropReport", "drop_store_connections"]

Say = Callable[[str], None]
_REPLICA = 2
_MOMENT_SECONDS = 2.0  # the longest a drop waits for its moment after its round's events


@dataclass(frozen=True)
class StoreDropReport:
    replicas: list[str]  # the second processes started
    drops: int
    sessions_dropped: int
    events: int
    effects_expected: int
    census: Census
    restarted: list[str]  # processes whose pid changed (should be none)
    settle_seconds: float


async def drop_store_connections(
    plan: StackPlan,
    info: StackInfo,
    store: PostgresServer,
    *,
    drops: int,
    events: int,
    seed: int,
    say: Say,
    tag: str = "r6",
) -> StoreDropReport:
    """Run ``events`` with two replicas of every service while ``drops`` times every store
    session is terminated; then count."""
    chooser = random.Random(seed)  # a reproducible run, not a secret
    processes = ServiceProcesses(plan)
    services = [name for name, state in info.services.items() if state == "running"]
    replicas = [(await processes.start_replica(name, _REPLICA)).name for name in services]
    say(f"  second replicas running: {', '.join(replicas)}")
    table = ProcessTable(plan.run_dir)
    pids_before = process_ids(table)
    dropped = 0
    try:
        async with httpx.AsyncClient(timeout=30.0) as http:
            traffic = Traffic(info, http, seed=seed, tag=tag)
            for index in range(drops):
                share = events * (index + 1) // drops - events * index // drops
                await traffic.play(share)
                # chaos: the cut lands at a random moment, while the round is being handled
                await asyncio.sleep(chooser.uniform(0.0, _MOMENT_SECONDS))
                dropped += await store.drop_connections()
                if (index + 1) % 10 == 0 or index + 1 == drops:
                    say(f"  {index + 1}/{drops} drops ({dropped} sessions), "
                        f"{traffic.played.events} events")  # fmt: skip
            settled_in, counted = await settle(info, http, traffic, say=say)
        pids_after = process_ids(table)
    finally:
        for name in replicas:
            table.stop(name)
    return StoreDropReport(
        replicas=replicas,
        drops=drops,
        sessions_dropped=dropped,
        events=traffic.played.events,
        effects_expected=expected_effects(info, traffic.played),
        census=counted,
        restarted=sorted(n for n, pid in pids_before.items() if pids_after.get(n) != pid),
        settle_seconds=settled_in,
    )
