"""R1: SIGKILLs at random moments across every process of the stack during a run of
events over every built flow; then nothing may be lost and nothing doubled.

Each kill is a ``SIGKILL`` (no shutdown, no flush, no offset commit) of a process drawn
at random (each process once first, so every one is hit): the edge and control plane,
every source and every sink service. It is started again at once with the same command
and environment, as a supervisor would (Kubernetes, compose's ``restart``), and the next
kill waits until it is back. Between kills the traffic plays its share of the events, so
the kills land while deliveries, fetches and writes are under way.

After the last kill the run settles: the vendors retry what the dead edge never answered
(brought forward, :func:`chaos.workload.nudge_sources`) and Expensify is polled,
until every effect landed or nothing moved for a while. :func:`chaos.workload.census`
then counts every effect in the target sandboxes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from chaos.workload import Census, Traffic, census, expected_effects, nudge_sources
from devstack.processes import ProcessTable
from devstack.service_processes import ServiceProcesses
from devstack.stack import StackInfo, StackPlan

__all__ = ["KillReport", "kill_during_traffic", "settle"]

Say = Callable[[str], None]
_SANDBOX_PREFIX = "sandbox-"
# The longest a kill waits for its moment once the events of its round were played.
_MOMENT_SECONDS = 1.5
SETTLE_QUIET_SECONDS = 120.0  # no effect landed for this long, with the sources nudged
NUDGE_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class KillReport:
    kills: int
    by_process: dict[str, int]
    events: int
    effects_expected: int
    census: Census
    seconds: float  # the kills and the traffic
    settle_seconds: float  # until every effect landed (or nothing moved)
    slowest_restart_seconds: float


async def kill_during_traffic(
    plan: StackPlan,
    info: StackInfo,
    *,
    kills: int,
    events: int,
    seed: int,
    say: Say,
    tag: str = "r1",
) -> KillReport:
    """Play ``events`` over the stack's flows while ``kills`` processes are SIGKILLed."""
    chooser = random.Random(seed)
    processes = ServiceProcesses(plan)
    names = [n for n in ProcessTable(plan.run_dir).names() if not n.startswith(_SANDBOX_PREFIX)]
    running = [name for name in names if processes.running(name)]
    order = chooser.sample(running, len(running))
    victims = [*order, *(chooser.choice(running) for _ in range(kills - len(order)))][:kills]
    by_process: Counter[str] = Counter()
    slowest = 0.0
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30.0) as http:
        traffic = Traffic(info, http, seed=seed, tag=tag)
        for index, victim in enumerate(victims):
            share = events * (index + 1) // len(victims) - events * index // len(victims)
            playing = asyncio.create_task(traffic.play(share))
            # chaos: the kill lands at a random moment of the round, not at a sync point
            await asyncio.sleep(chooser.uniform(0.0, _MOMENT_SECONDS))
            killed, env = processes.kill(victim)
            by_process[victim] += 1
            back_from = time.monotonic()
            await processes.restart(killed, env)
            slowest = max(slowest, time.monotonic() - back_from)
            await playing
            if (index + 1) % 10 == 0 or index + 1 == len(victims):
                say(f"  {index + 1}/{len(victims)} kills, {traffic.played.events} events played")
        seconds = time.monotonic() - started
        say(f"  settling: waiting for {expected_effects(info, traffic.played):,} effects")
        settled_in, counted = await settle(info, http, traffic, say=say)
    return KillReport(
        kills=len(victims),
        by_process=dict(by_process),
        events=traffic.played.events,
        effects_expected=expected_effects(info, traffic.played),
        census=counted,
        seconds=seconds,
        settle_seconds=settled_in,
        slowest_restart_seconds=slowest,
    )


async def settle(
    info: StackInfo,
    http: httpx.AsyncClient,
    traffic: Traffic,
    *,
    say: Say,
    quiet_seconds: float = SETTLE_QUIET_SECONDS,
) -> tuple[float, Census]:
    """Wait until every effect of the traffic landed, or none landed for ``quiet_seconds``
    while the sources were nudged; how long it took, and the final count."""
    started = time.monotonic()
    best, moved_at, nudged_at = -1, started, 0.0
    while True:
        counted = await census(info, http, traffic.played)
        landed = sum(counted.landed.values())
        now = time.monotonic()
        if landed > best:
            best, moved_at = landed, now
        if counted.total_lost == 0 or now - moved_at > quiet_seconds:
            return now - started, counted
        if now - nudged_at > NUDGE_EVERY_SECONDS:
            say(f"  {landed:,} landed, {counted.total_lost:,} not yet")
            await nudge_sources(info, http)
            nudged_at = now
        await asyncio.sleep(2.0)  # poll: the targets are read again
