"""Run the fault suite on a stack: kills (R1), the broker stopped (R2), hostile requests
and a genuine delivery (R4), then the scan for secrets (R5), last so that it reads every
log and message the others caused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import httpx

from chaos.hostile_requests import Doors, HostileReport, send_hostile
from chaos.kills import KillReport, kill_during_traffic
from chaos.outages import OutageReport, stop_the_broker, stop_the_store
from chaos.postgres_store import PostgresServer
from chaos.secret_scan import ScanReport, issued_secrets, scan, stored_secrets
from chaos.store_faults import StoreDropReport, drop_store_connections
from chaos.vendor_days import roomier_vendor_days
from chaos.vendor_storms import StormReport, measure_vendor_storms
from devstack.processes import ProcessTable
from devstack.stack import INGEST, StackInfo, StackPlan
from services.runtime.settings import RuntimeSettings
from services.vendors import TOPICS

__all__ = ["ChaosResult", "doors_of", "genuine_delivery_accepted", "run_chaos"]

Say = Callable[[str], None]
T = TypeVar("T")


@dataclass
class ChaosResult:
    hostile: HostileReport
    hostile_seconds: float
    edge_up_after: bool
    genuine_accepted: bool
    scan: ScanReport
    kills: KillReport | None = None  # None: R1 not run
    outage: OutageReport | None = None  # None: R2 not run
    store_outage: OutageReport | None = None  # None: R2's store half not run
    store_drops: StoreDropReport | None = None  # None: R6 not run
    storms: StormReport | None = None  # None: R3 not run
    # Figures that broke off before their count (figure -> the error): each MISSED.
    broke_off: dict[str, str] = field(default_factory=dict)
    # What the suite changed in the sandboxes before it started, in words (the page says it).
    setup: list[str] = field(default_factory=list)


def doors_of(info: StackInfo) -> Doors:
    return Doors(
        base_url=info.ingest,
        vendors=sorted(info.sandboxes),
        connection_ids=sorted(info.connections.values()),
        operator_token=info.operator_token,
    )


async def genuine_delivery_accepted(
    info: StackInfo, http: httpx.AsyncClient, *, timeout_seconds: float = 60.0
) -> bool:
    """A hire in the BambooHR sandbox: is its signed webhook delivered (answered 2xx)?"""
    bamboohr = info.sandboxes["bamboohr"]
    clock = await http.get(f"{bamboohr}/_sandbox/clock")
    clock.raise_for_status()
    since = datetime.fromisoformat(str(clock.json()["now"]))
    hired = await http.post(
        f"{bamboohr}/_sandbox/actions/hire",
        json={
            "firstName": "After",
            "lastName": "Storm",
            "workEmail": "after.storm@acmecreative.example",
            "department": "Engineering",
            "jobTitle": "Software Engineer",
        },
    )
    hired.raise_for_status()
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        answer = await http.get(f"{bamboohr}/_sandbox/webhooks")
        answer.raise_for_status()
        delivered = [
            d
            for d in answer.json()["deliveries"]
            if datetime.fromisoformat(str(d["time"])) >= since and d["outcome"] == "delivered"
        ]
        if delivered:
            return True
        await asyncio.sleep(0.5)  # poll: the sandbox delivers in the background
    return False


async def run_chaos(
    plan: StackPlan,
    info: StackInfo,
    *,
    requests: int,
    seed: int,
    say: Say,
    kills: int = 0,
    events: int = 0,
    outage_seconds: float = 0.0,
    store: PostgresServer | None = None,
    drops: int = 0,
    storms: bool = False,
    rotations: int = 0,
) -> ChaosResult:
    """The figures on the running stack of ``plan``: R1 with ``kills`` > 0, R2 with
    ``outage_seconds`` > 0 (the stack's own broker; its PostgreSQL ``store`` too when
    given), R6 with a ``store`` and ``drops`` > 0, R3 with ``storms`` (``rotations``
    refresh-token rotations), then R4 and R5.

    R3 comes after the others: its revoked-token storm reconnects vendors, which changes
    the stack's connections and links (``info`` is updated in place)."""
    broke_off: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=30.0) as http:
        setup = await roomier_vendor_days(info, http)
    for line in setup:
        say(f"setup: {line}")

    async def figure(name: str, measure: Awaitable[T]) -> T | None:
        # A figure that breaks off is that figure's finding (MISSED, with why); the
        # others still run and the page is still written.
        try:
            return await measure
        except Exception as error:
            broke_off[name] = f"{type(error).__name__}: {str(error)[:300]}"
            say(f"  {name} broke off: {broke_off[name]}")
            return None

    killed: KillReport | None = None
    if kills:
        say(f"R1: {kills} SIGKILLs at random moments during {events:,} events over every flow")
        killed = await figure(
            "R1", kill_during_traffic(plan, info, kills=kills, events=events, seed=seed, say=say)
        )
    outage: OutageReport | None = None
    if outage_seconds:
        say(f"R2: the broker stopped for {outage_seconds:.0f} s mid-run")
        outage = await figure(
            "R2 (Kafka)",
            stop_the_broker(
                plan, info, outage_seconds=outage_seconds, events_before=20, seed=seed, say=say
            ),
        )
    store_outage: OutageReport | None = None
    if store is not None and outage_seconds:
        say(f"R2: the PostgreSQL store stopped for {outage_seconds:.0f} s mid-run")
        store_outage = await figure(
            "R2 (PostgreSQL)",
            stop_the_store(
                plan,
                info,
                store,
                outage_seconds=outage_seconds,
                events_before=20,
                seed=seed,
                say=say,
            ),
        )
    store_drops: StoreDropReport | None = None
    if store is not None and drops:
        say(f"R6: two replicas of every service; the store's sessions dropped {drops} times")
        store_drops = await figure(
            "R6",
            drop_store_connections(
                plan, info, store, drops=drops, events=events // 2, seed=seed, say=say
            ),
        )
    stormed: StormReport | None = None
    if storms:
        say(f"R3: vendor storms, then {rotations:,} refresh-token rotations under two replicas")
        stormed = await figure(
            "R3", measure_vendor_storms(plan, info, say=say, rotations=rotations)
        )
    say(f"R4: {requests:,} hostile requests at {info.ingest} (seed {seed})")
    started = time.monotonic()
    hostile = await send_hostile(
        doors_of(info), requests, seed=seed, progress=lambda n: say(f"  {n:,} sent")
    )
    hostile_seconds = time.monotonic() - started
    edge_up = ProcessTable(plan.run_dir).get(INGEST) is not None
    async with httpx.AsyncClient(timeout=30.0) as http:
        genuine = await genuine_delivery_accepted(info, http)
        say("R5: scanning the store, the logs and every topic for the secrets issued")
        secrets = await issued_secrets(info.sandboxes, plan.run_dir, http)
    secrets.update(
        await stored_secrets(
            RuntimeSettings(
                database_url=plan.database_url, master_keys_file=plan.run_dir / "master_keys"
            )
        )
    )
    found = await scan(
        secrets,
        run_dir=plan.run_dir,
        bootstrap=info.kafka,
        topics=[topic.name for topic in TOPICS],
        store_dir=store.directory if store is not None else None,
    )
    return ChaosResult(
        hostile,
        hostile_seconds,
        edge_up,
        genuine,
        found,
        killed,
        outage,
        store_outage,
        store_drops,
        stormed,
        broke_off,
        setup,
    )
