"""The vendor client counts what it does: every attempt with its status, 429s, the waits it
took and why, and how much of a connection's budget is in use."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from services.runtime.http import build_client
from services.runtime.metrics import REGISTRY
from services.runtime.ratelimit import BudgetRegistry, RatePolicy
from services.runtime.retry import RetryPolicy


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_each_attempt_is_counted_with_its_status_and_a_429_wait_with_its_cause() -> None:
    connection = f"freshbooks:{uuid.uuid4().hex}"
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.01"}), httpx.Response(200)])
    transport = httpx.MockTransport(lambda _: next(answers))
    async with build_client(
        base_url="https://api.example",
        vendor="freshbooks",
        connection_key=connection,
        retry=RetryPolicy(max_attempts=3),
        transport=transport,
    ) as client:
        assert (await client.get("/users/me")).status_code == 200

    calls = "mlc_vendor_calls_total"
    base = {"vendor": "freshbooks", "method": "GET", "connection": connection}
    assert _value(calls, **base, status="429") == 1
    assert _value(calls, **base, status="200") == 1
    assert _value("mlc_vendor_throttled_total", vendor="freshbooks", connection=connection) == 1
    waited = {"vendor": "freshbooks", "connection": connection, "cause": "retry_after"}
    assert _value("mlc_vendor_waits_total", **waited) == 1
    assert _value("mlc_vendor_wait_seconds_total", **waited) > 0


async def test_a_call_that_gets_no_answer_is_counted_as_an_error() -> None:
    connection = f"bill:{uuid.uuid4().hex}"

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with build_client(
        base_url="https://api.example",
        vendor="bill",
        connection_key=connection,
        retry=RetryPolicy(max_attempts=1),
        transport=httpx.MockTransport(refuse),
    ) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post("/v3/bills", json={})
    labels = {"vendor": "bill", "method": "POST", "status": "error", "connection": connection}
    assert _value("mlc_vendor_calls_total", **labels) == 1


async def test_the_budget_in_use_is_the_share_of_the_window_taken() -> None:
    connection = f"zoho:{uuid.uuid4().hex}"
    budgets = BudgetRegistry()
    async with build_client(
        base_url="https://api.example",
        vendor="zoho",
        connection_key=connection,
        rate=RatePolicy(requests=3, per_seconds=3600),
        transport=httpx.MockTransport(lambda _: httpx.Response(200)),
        budgets=budgets,
    ) as client:
        await asyncio.gather(*(client.get("/contacts") for _ in range(2)))
        assert budgets.usage() == {("zoho", connection): 2 / 3}


async def test_a_wait_for_room_in_the_budget_is_counted_as_a_budget_wait() -> None:
    connection = f"zoho:{uuid.uuid4().hex}"
    async with build_client(
        base_url="https://api.example",
        vendor="zoho",
        connection_key=connection,
        rate=RatePolicy(requests=1, per_seconds=0.1),
        transport=httpx.MockTransport(lambda _: httpx.Response(200)),
        budgets=BudgetRegistry(),
    ) as client:
        await asyncio.gather(*(client.get("/contacts") for _ in range(2)))
    waited = {"vendor": "zoho", "connection": connection, "cause": "budget"}
    assert _value("mlc_vendor_waits_total", **waited) == 1  # the second call, not the first
    assert _value("mlc_vendor_wait_seconds_total", **waited) >= 0.05
