"""The proactive limiter, judged by what a real server saw arrive."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from services.runtime.http import build_client
from services.runtime.ratelimit import BudgetRegistry, RatePolicy
from services.runtime.retry import RetryPolicy
from tests.integration.http.scripted_server import Reply, ScriptedServer

NO_RETRY = RetryPolicy(max_attempts=1)


def busiest_window(arrivals: list[float], seconds: float) -> int:
    """The most arrivals any half-open window ``[t, t + seconds)`` holds, wherever t is."""
    times = sorted(arrivals)
    # The busiest window can always be slid to start at an arrival.
    return max(
        sum(1 for later in times[i:] if later < start + seconds) for i, start in enumerate(times)
    )


def client_for(
    server: ScriptedServer, *, connection_key: str, rate: RatePolicy, budgets: BudgetRegistry
) -> httpx.AsyncClient:
    return build_client(
        vendor="test",
        base_url=server.base_url,
        connection_key=connection_key,
        rate=rate,
        retry=NO_RETRY,
        budgets=budgets,
    )


async def test_no_window_at_the_server_holds_more_than_the_budget(
    scripted_server: ScriptedServer,
) -> None:
    rate = RatePolicy(requests=5, per_seconds=0.5)
    path = scripted_server.new_path()
    async with client_for(
        scripted_server, connection_key="test:window", rate=rate, budgets=BudgetRegistry()
    ) as client:
        responses = await asyncio.gather(*(client.get(path) for _ in range(20)))

    assert [r.status_code for r in responses] == [200] * 20
    arrivals = scripted_server.records[path].arrivals
    assert len(arrivals) == 20
    assert busiest_window(arrivals, rate.per_seconds) == 5
    # 20 requests at 5 per 0.5 s need three full windows, and the limiter wastes little more.
    assert 1.5 <= max(arrivals) - min(arrivals) < 2.5


async def test_two_clients_of_one_connection_share_its_budget(
    scripted_server: ScriptedServer,
) -> None:
    rate = RatePolicy(requests=4, per_seconds=0.5)
    budgets = BudgetRegistry()
    path = scripted_server.new_path()
    first = client_for(scripted_server, connection_key="test:shared", rate=rate, budgets=budgets)
    second = client_for(scripted_server, connection_key="test:shared", rate=rate, budgets=budgets)
    async with first, second:
        await asyncio.gather(
            *(first.get(path) for _ in range(6)), *(second.get(path) for _ in range(6))
        )

    arrivals = scripted_server.records[path].arrivals
    assert len(arrivals) == 12
    assert busiest_window(arrivals, rate.per_seconds) == 4


async def test_clients_of_different_connections_do_not_share_a_budget(
    scripted_server: ScriptedServer,
) -> None:
    rate = RatePolicy(requests=3, per_seconds=5.0)
    budgets = BudgetRegistry()
    path = scripted_server.new_path()
    first = client_for(scripted_server, connection_key="test:one", rate=rate, budgets=budgets)
    second = client_for(scripted_server, connection_key="test:two", rate=rate, budgets=budgets)
    async with first, second:
        await asyncio.gather(
            *(first.get(path) for _ in range(3)), *(second.get(path) for _ in range(3))
        )

    arrivals = scripted_server.records[path].arrivals
    # Six requests inside one 5 s window: each connection spent its own three.
    assert max(arrivals) - min(arrivals) < 1.0


async def test_the_concurrency_cap_bounds_requests_in_flight_at_the_server(
    scripted_server: ScriptedServer,
) -> None:
    rate = RatePolicy(max_in_flight=3)
    path = scripted_server.new_path(then=Reply(200, hold_seconds=0.1))
    async with client_for(
        scripted_server,
        connection_key=f"test:{uuid.uuid4().hex}",
        rate=rate,
        budgets=BudgetRegistry(),
    ) as client:
        responses = await asyncio.gather(*(client.get(path) for _ in range(12)))

    assert all(r.status_code == 200 for r in responses)
    record = scripted_server.records[path]
    assert len(record.arrivals) == 12
    # Held answers pile up to the cap, and never past it.
    assert record.max_in_flight == 3
