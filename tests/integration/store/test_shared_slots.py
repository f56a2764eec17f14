"""SharedSlots and SlotTransport: at most N requests in flight across processes (two
transports over one store stand for two replicas), a dead holder's slot freed by its
lease's expiry, and no slot in time is a request never sent (``httpx.PoolTimeout``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.kit import wait_until
from services.runtime.shared_slots import SharedSlots, SlotTransport
from services.runtime.store import StateStore


class HeldApp:
    """Counts requests in flight; each waits for ``gate`` before it answers."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.gate = asyncio.Event()
        self.app = Starlette(routes=[Route("/{path:path}", self.answer, methods=["POST"])])

    async def answer(self, request: Request) -> Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        return Response("{}", status_code=201)


def _client(app: HeldApp, slots: SharedSlots) -> httpx.AsyncClient:
    transport = SlotTransport(httpx.ASGITransport(app=app.app), slots)
    return httpx.AsyncClient(transport=transport, base_url="http://vendor.test")


async def test_two_replicas_never_have_more_than_three_requests_in_flight(
    store: StateStore,
) -> None:
    app = HeldApp()
    replicas = [SharedSlots(store, "bill:org-1", count=3) for _ in range(2)]
    async with _client(app, replicas[0]) as first, _client(app, replicas[1]) as second:
        sent = [
            asyncio.create_task(client.post(f"/bills/{n}"))
            for n in range(5)
            for client in (first, second)
        ]
        # Three are in; the others found every slot taken (in both replicas) and wait.
        await wait_until(lambda: app.in_flight == 3, timeout_seconds=10, message="3 in flight")
        await wait_until(
            lambda: all(r.waits > 0 for r in replicas), timeout_seconds=10, message="others wait"
        )
        assert app.in_flight == 3
        app.gate.set()
        answers = await asyncio.gather(*sent)
    assert [a.status_code for a in answers] == [201] * 10
    assert app.most == 3
    async with store.transaction() as repos:
        left = [await repos.leases.get(f"bill:org-1#{i}") for i in range(3)]
    assert left == [None, None, None]  # every slot given back


async def test_a_dead_holders_slot_frees_when_its_lease_expires(store: StateStore) -> None:
    async with store.transaction() as repos:
        assert await repos.leases.try_acquire(
            "bill:org-2#0", "a-dead-process", ttl=timedelta(milliseconds=300)
        )
    slots = SharedSlots(store, "bill:org-2", count=1, wait=timedelta(seconds=10))
    async with slots.held() as slot:
        assert slot == "bill:org-2#0"
    assert slots.waits > 0  # it had to wait for the expiry


async def test_no_slot_in_time_is_a_request_never_sent(store: StateStore) -> None:
    app = HeldApp()
    app.gate.set()
    async with store.transaction() as repos:
        assert await repos.leases.try_acquire("bill:org-3#0", "busy", ttl=timedelta(minutes=5))
    slots = SharedSlots(store, "bill:org-3", count=1, wait=timedelta(milliseconds=100))
    async with _client(app, slots) as client:
        with pytest.raises(httpx.PoolTimeout, match="stayed taken"):
            await client.post("/bills/1")
    assert app.most == 0
