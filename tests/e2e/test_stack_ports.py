"""The dev stack on picked ports: a port another process took between the pick and the
bind is replaced by another free one, for the sandboxes and the ingest alike."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from pathlib import Path

import httpx

from devstack.stack import StackPlan, start_stack, stop_stack


def _taken_port() -> socket.socket:
    """A listening socket on a free port: the port is taken while it stays open."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


async def test_ports_taken_before_the_stack_binds_them_are_picked_again(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    plan = StackPlan.for_demo(
        {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DEMO_RUN_DIR": str(tmp_path)}, ["ap-bill"]
    )
    holders = [_taken_port() for _ in range(3)]
    taken = [h.getsockname()[1] for h in holders]
    plan = replace(
        plan,
        ingest_port=taken[0],
        sandbox_ports={"freshbooks": taken[1], "bill": taken[2]},
    )
    try:
        info = await start_stack(plan, lambda _: None)
        async with httpx.AsyncClient(timeout=10.0) as http:
            health = await http.get(f"{info.ingest}/healthz")
            clocks = [await http.get(f"{url}/_sandbox/clock") for url in info.sandboxes.values()]
    finally:
        await asyncio.to_thread(stop_stack, plan, lambda _: None)
        for holder in holders:
            holder.close()

    assert health.status_code == 200
    assert [c.status_code for c in clocks] == [200, 200]
    used = [int(u.rsplit(":", 1)[1]) for u in (info.ingest, *info.sandboxes.values())]
    assert not set(used) & set(taken)
    assert info.services == {"freshbooks": "running", "bill": "running"}
