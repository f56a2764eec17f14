"""Run the fault suite on a stack: hostile requests, then a genuine delivery, then the scan."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from chaos.hostile_requests import Doors, HostileReport, send_hostile
from chaos.secret_scan import ScanReport, issued_secrets, scan, stored_secrets
from devstack.processes import ProcessTable
from devstack.stack import INGEST, StackInfo, StackPlan
from services.runtime.settings import RuntimeSettings
from services.vendors import TOPICS

__all__ = ["ChaosResult", "doors_of", "genuine_delivery_accepted", "run_chaos"]

Say = Callable[[str], None]


@dataclass
class ChaosResult:
    hostile: HostileReport
    hostile_seconds: float
    edge_up_after: bool
    genuine_accepted: bool
    scan: ScanReport


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
    plan: StackPlan, info: StackInfo, *, requests: int, seed: int, say: Say
) -> ChaosResult:
    """R4 then R5 on the running stack of ``plan``."""
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
    )
    return ChaosResult(hostile, hostile_seconds, edge_up, genuine, found)
