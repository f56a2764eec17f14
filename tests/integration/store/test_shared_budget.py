"""SharedWindow: N requests per window counted across replicas (two transports over one
store stand for two replicas), each counted from its answer, a dead taker's place freed
after its in-flight deadline, bulk kept to its share across replicas, and the window on
by default in the vendors' clients and off with MLC_SHARED_BUDGETS=false."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.acumatica.access import AcumaticaAccess
from services.acumatica.settings import AcumaticaSettings
from services.bill.access import BillAccess
from services.bill.settings import BillSettings
from services.expensify.access import ExpensifyAccess
from services.expensify.settings import ExpensifySettings
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.http import build_client
from services.runtime.ratelimit import BULK_EXTENSION, BudgetRegistry, RatePolicy
from services.runtime.shared_budget import SharedWindow, SharedWindowTransport
from services.runtime.shared_slots import SharedSlots
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from services.zoho.access import ZohoAccess
from services.zoho.quota import DailyQuota
from services.zoho.settings import ZohoSettings


class CountingApp:
    """Records when each request arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.answer, methods=["GET"])])

    async def answer(self, request: Request) -> Response:
        self.arrivals.append(time.monotonic())
        return Response("{}")

    def most_within(self, seconds: float) -> int:
        """The most arrivals in any ``seconds`` starting at an arrival."""
        ordered = sorted(self.arrivals)
        return max(
            (sum(1 for later in ordered if start <= later < start + seconds) for start in ordered),
            default=0,
        )


def _replica(app: CountingApp, window: SharedWindow) -> httpx.AsyncClient:
    transport = SharedWindowTransport(httpx.ASGITransport(app=app.app), window)
    return httpx.AsyncClient(transport=transport, base_url="http://vendor.test")


async def test_two_replicas_send_at_most_the_window_between_them(store: StateStore) -> None:
    app = CountingApp()
    policy = RatePolicy(requests=4, per_seconds=1.0)
    replicas = [SharedWindow(store, "budget:zoho-org:1", policy) for _ in range(2)]
    async with _replica(app, replicas[0]) as first, _replica(app, replicas[1]) as second:
        answers = await asyncio.gather(
            *(client.get(f"/contacts/{n}") for n in range(6) for client in (first, second))
        )
    assert [a.status_code for a in answers] == [200] * 12
    # Twelve requests at four a second: three windows, never five in one second.
    assert app.most_within(1.0) <= 4
    assert max(app.arrivals) - min(app.arrivals) >= 2.0
    assert all(replica.waits > 0 for replica in replicas)


async def test_a_dead_takers_place_frees_at_its_in_flight_deadline(store: StateStore) -> None:
    # A process died holding the window's only place: nobody stamped it answered.
    async with store.transaction() as repos:
        taken = await repos.leases.take_window_place(
            "budget:fb:2",
            "a-dead-process",
            requests=1,
            bulk_requests=1,
            ttl=timedelta(milliseconds=300),
        )
    assert taken is None
    window = SharedWindow(store, "budget:fb:2", RatePolicy(requests=1, per_seconds=0.1))
    holder = await window.take()
    await window.answered(holder)
    assert window.waits > 0  # it waited for the dead place's deadline


async def test_a_place_counts_from_its_answer_not_from_its_sending(store: StateStore) -> None:
    window = SharedWindow(store, "budget:acu:3", RatePolicy(requests=1, per_seconds=0.5))
    holder = await window.take()
    # In flight for longer than the window: the place is still taken.
    async with store.transaction() as repos:
        refused = await repos.leases.take_window_place(
            "budget:acu:3", "other", requests=1, bulk_requests=1, ttl=timedelta(minutes=1)
        )
    assert refused is not None
    assert refused > 0
    await window.answered(holder)
    async with store.transaction() as repos:
        place = await repos.leases.get(f"budget:acu:3#{holder}")
    assert place is not None
    remaining = (place.expires_at - place.acquired_at).total_seconds()
    assert remaining >= 0.5  # counted from the answer: at least the window's length left


async def test_bulk_work_keeps_to_its_share_across_replicas(store: StateStore) -> None:
    policy = RatePolicy(requests=4, per_seconds=60.0, reserved_share=0.5)
    replicas = [SharedWindow(store, "budget:zoho-org:4", policy) for _ in range(2)]
    for replica in replicas:
        await replica.answered(await replica.take(bulk=True))
    # Both bulk places of the minute are spent; a third bulk request would wait a minute.
    async with store.transaction() as repos:
        refused = await repos.leases.take_window_place(
            "budget:zoho-org:4", "bulk-third", requests=4, bulk_requests=2, ttl=timedelta(1)
        )
    assert refused is not None
    assert refused > 50
    # Live work still finds the reserve, in either replica, at once.
    for replica in replicas:
        await asyncio.wait_for(replica.take(), timeout=5)
    assert [replica.waits for replica in replicas] == [0, 0]


async def test_a_window_name_with_like_wildcards_counts_only_its_own(store: StateStore) -> None:
    policy = RatePolicy(requests=1, per_seconds=60.0)
    await SharedWindow(store, "budget:a_b%", policy).take()
    # "budget:aXb%" would match "budget:a_b%#..." if the prefix were a bare LIKE pattern.
    other = SharedWindow(store, "budget:aXb%", policy)
    await asyncio.wait_for(other.take(), timeout=5)
    assert other.waits == 0


@pytest.mark.parametrize("shared", [True, False])
async def test_build_client_counts_the_window_in_the_store_when_given_one(
    store: StateStore, shared: bool
) -> None:
    app = CountingApp()
    async with build_client(
        vendor="zoho",
        base_url="http://vendor.test",
        connection_key="zoho-org:5",
        rate=RatePolicy(requests=10, per_seconds=60.0),
        transport=httpx.ASGITransport(app=app.app),
        budgets=BudgetRegistry(),
        shared_in=store if shared else None,
    ) as client:
        answer = await client.get("/contacts", extensions={BULK_EXTENSION: True})
    assert answer.status_code == 200
    async with store.transaction() as repos:
        lock = await repos.leases.get("budget:zoho-org:5")
    assert (lock is not None) is shared


def _layers(client: httpx.AsyncClient) -> list[type]:
    """The client's transports, outermost first (each keeps the next as ``_inner``)."""
    found: list[type] = []
    layer: object | None = client._transport
    while layer is not None:
        found.append(type(layer))
        layer = getattr(layer, "_inner", None)
    return found


def _vendor_clients(store: StateStore, *, share: bool) -> dict[str, httpx.AsyncClient]:
    """Each windowed vendor's production client, as its service builds it."""
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    quota = DailyQuota(store, reserve=0, max_wait_seconds=1.0)
    zoho = ZohoAccess(
        store=store, vault=vault, settings=ZohoSettings(), quota=quota, share_budgets=share
    )
    acumatica = AcumaticaAccess(
        store=store, vault=vault, settings=AcumaticaSettings(), share_budgets=share
    )
    bill = BillAccess(store=store, vault=vault, settings=BillSettings(), share_budgets=share)
    freshbooks = FreshBooksAccess(
        store=store, vault=vault, settings=FreshBooksSettings(), share_budgets=share
    )
    expensify = ExpensifyAccess(
        store=store, vault=vault, settings=ExpensifySettings(), share_budgets=share
    )
    return {
        "zoho": zoho.production_client("", "zoho-org:1"),
        "acumatica": acumatica.production_client("acumatica:1"),
        "bill": bill.production_client("bill:1", SharedSlots(store, "bill:1", count=3)),
        "freshbooks": freshbooks.production_client("", "freshbooks:1"),
        "expensify": expensify.production_client("partner-1"),
    }


@pytest.mark.parametrize("share", [True, False])
async def test_every_windowed_vendor_counts_across_replicas_unless_turned_off(
    store: StateStore, share: bool
) -> None:
    clients = _vendor_clients(store, share=share)
    try:
        counted = {
            vendor: _layers(client).count(SharedWindowTransport)
            for vendor, client in clients.items()
        }
    finally:
        for client in clients.values():
            await client.aclose()
    # Expensify has two windows (per 10 s and per minute); the others one each.
    expected = {"zoho": 1, "acumatica": 1, "bill": 1, "freshbooks": 1, "expensify": 2}
    assert counted == (expected if share else dict.fromkeys(expected, 0))
