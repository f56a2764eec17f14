"""R2: the stack's Kafka, or its PostgreSQL store, stopped mid-run and started again on
its data.

While it is down the events go on: the edge cannot store a delivery, so it answers the
vendor 503 with ``Retry-After`` (a refused, signed BambooHR delivery is sent again during
the outage to read that answer), and the vendors retry later. The services are not
restarted: each must find the broker or the store again by itself. After the restart the
run settles (:func:`chaos.kills.settle`), and every effect is counted; the processes'
pids before and after show nothing was restarted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from chaos.kills import settle
from chaos.postgres_store import PostgresServer
from chaos.workload import Census, Traffic, expected_effects
from devstack.processes import ProcessTable
from devstack.stack import StackInfo, StackPlan, start_kafka, stop_kafka

__all__ = ["OutageReport", "process_ids", "stop_the_broker", "stop_the_store"]

Say = Callable[[str], None]
# One event every this often while the broker is down: a steady trickle, not a burst.
_EVENT_EVERY_SECONDS = 2.0
# The sandboxes whose webhooks the traffic causes (each sandbox keeps its own clock).
_DELIVERING = ("bamboohr", "freshbooks")


@dataclass(frozen=True)
class OutageReport:
    stopped: str  # "Kafka", "PostgreSQL"
    outage_seconds: float
    events: int
    events_during: int
    # The vendors' deliveries while the broker was down, by the edge's answer ("503",
    # "timeout", ...), as the BambooHR and FreshBooks sandboxes recorded them.
    deliveries_during: dict[str, int]
    resent_status: int  # the edge's answer to a signed delivery sent again mid-outage
    resent_retry_after: str  # its Retry-After header ("" when there was none)
    effects_expected: int
    census: Census
    restarted: list[str]  # processes whose pid changed (should be none)
    settle_seconds: float


async def stop_the_broker(
    plan: StackPlan,
    info: StackInfo,
    *,
    outage_seconds: float,
    events_before: int,
    seed: int,
    say: Say,
    tag: str = "r2",
) -> OutageReport:
    """Stop the stack's own Kafka for ``outage_seconds`` while events go on; then count."""
    if plan.kafka_bootstrap:
        raise ValueError("R2 stops the stack's own broker; this stack uses an external one")

    async def start() -> None:
        await start_kafka(replace(plan, fresh=False), say)

    return await _outage(
        plan,
        info,
        "Kafka",
        stop=lambda: asyncio.to_thread(stop_kafka, plan),
        start=start,
        outage_seconds=outage_seconds,
        events_before=events_before,
        seed=seed,
        say=say,
        tag=tag,
    )


async def stop_the_store(
    plan: StackPlan,
    info: StackInfo,
    store: PostgresServer,
    *,
    outage_seconds: float,
    events_before: int,
    seed: int,
    say: Say,
    tag: str = "r2s",
) -> OutageReport:
    """Stop the stack's PostgreSQL store for ``outage_seconds`` while events go on; count."""

    async def start() -> None:
        await store.start()

    return await _outage(
        plan,
        info,
        "PostgreSQL",
        stop=store.stop,
        start=start,
        outage_seconds=outage_seconds,
        events_before=events_before,
        seed=seed,
        say=say,
        tag=tag,
    )


async def _outage(
    plan: StackPlan,
    info: StackInfo,
    stopped: str,
    *,
    stop: Callable[[], Awaitable[object]],
    start: Callable[[], Awaitable[None]],
    outage_seconds: float,
    events_before: int,
    seed: int,
    say: Say,
    tag: str,
) -> OutageReport:
    table = ProcessTable(plan.run_dir)
    pids_before = process_ids(table)
    async with httpx.AsyncClient(timeout=30.0) as http:
        traffic = Traffic(info, http, seed=seed, tag=tag)
        await traffic.play(events_before)
        say(f"  stopping {stopped} for {outage_seconds:.0f} s ({events_before} events before)")
        await stop()
        down_at = time.monotonic()
        since = {
            vendor: await _sandbox_now(http, info.sandboxes[vendor])
            for vendor in _DELIVERING
            if vendor in info.sandboxes
        }
        resent: tuple[int, str] | None = None
        while time.monotonic() - down_at < outage_seconds:
            await traffic.play(1)
            if resent is None:
                resent = await _resend_a_refused_delivery(
                    http, info.sandboxes["bamboohr"], since["bamboohr"]
                )
            # chaos: the outage lasts a set time; events trickle in during it
            await asyncio.sleep(_EVENT_EVERY_SECONDS)
        events_during = traffic.played.events - events_before
        deliveries = await _deliveries_since(http, info, since)
        say(f"  starting {stopped} again after {time.monotonic() - down_at:.0f} s")
        await start()
        outage = time.monotonic() - down_at
        settled_in, counted = await settle(info, http, traffic, say=say)
    pids_after = process_ids(table)
    return OutageReport(
        stopped=stopped,
        outage_seconds=outage,
        events=traffic.played.events,
        events_during=events_during,
        deliveries_during=deliveries,
        resent_status=resent[0] if resent else 0,
        resent_retry_after=resent[1] if resent else "",
        effects_expected=expected_effects(info, traffic.played),
        census=counted,
        restarted=sorted(name for name, pid in pids_before.items() if pids_after.get(name) != pid),
        settle_seconds=settled_in,
    )


def process_ids(table: ProcessTable) -> dict[str, int]:
    """Each running process of the table: its pid (a changed one was restarted)."""
    found = {name: table.get(name) for name in table.names()}
    return {name: process.pid for name, process in found.items() if process is not None}


async def _sandbox_now(http: httpx.AsyncClient, base: str) -> datetime:
    answer = await http.get(f"{base}/_sandbox/clock")
    answer.raise_for_status()
    return datetime.fromisoformat(str(answer.json()["now"]))


async def _recorded(http: httpx.AsyncClient, base: str) -> list[dict[str, Any]]:
    answer = await http.get(f"{base}/_sandbox/webhooks")
    answer.raise_for_status()
    return list(answer.json()["deliveries"])


async def _resend_a_refused_delivery(
    http: httpx.AsyncClient, base: str, since: datetime
) -> tuple[int, str] | None:
    """Send a signed BambooHR delivery the edge did not take since ``since`` to it again:
    the edge's status and Retry-After (None while there is no such delivery yet).

    One it took before would be answered 200 from its memory of delivery ids, broker or
    not: only a refused one shows what the outage answers.
    """
    refused = [
        d
        for d in await _recorded(http, base)
        if datetime.fromisoformat(str(d["time"])) >= since and d["outcome"] == "failed"
    ]
    if not refused:
        return None
    answer = await http.post(
        str(refused[-1]["url"]),
        content=str(refused[-1]["body"]).encode(),
        headers={str(k): str(v) for k, v in dict(refused[-1]["headers"]).items()},
    )
    return answer.status_code, answer.headers.get("Retry-After", "")


async def _deliveries_since(
    http: httpx.AsyncClient, info: StackInfo, since: dict[str, datetime]
) -> dict[str, int]:
    """The deliveries each vendor recorded since its clock read ``since``, by answer."""
    by_answer: Counter[str] = Counter()
    for vendor, start in since.items():
        for delivery in await _recorded(http, info.sandboxes[vendor]):
            if datetime.fromisoformat(str(delivery["time"])) < start:
                continue
            status = delivery.get("status")
            by_answer[str(status) if status else str(delivery.get("error") or "no answer")] += 1
    return dict(by_answer)
