"""429 rate limiting per connection (sheet section 9) and injected faults."""

from __future__ import annotations

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from tests.sandboxes.freshbooks.fb_helpers import ACCOUNTING, bearer
from tests.sandboxes.sandbox_harness import Connector

EXPENSES = f"{ACCOUNTING}/expenses/expenses"


async def test_the_request_over_the_limit_is_429_with_retry_after_and_the_window_reopens(
    connect: Connector,
) -> None:
    settings = FreshBooksSandboxSettings(rate_limit_requests=3, rate_limit_window_seconds=60)
    async with connect(FreshBooksSandbox(settings=settings)) as client:
        headers = await bearer(client)
        statuses = [(await client.get(EXPENSES, headers=headers)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await client.get(EXPENSES, headers=headers)
        assert refused.json() == {"errno": 429, "message": "Too Many Requests"}
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Calls without a valid token are not counted (they answer 401 as usual).
        assert (await client.get(EXPENSES)).status_code == 401
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        assert (await client.get(EXPENSES, headers=headers)).status_code == 200


async def test_retry_after_can_be_switched_off_and_limits_adjusted_at_run_time(
    connect: Connector,
) -> None:
    settings = FreshBooksSandboxSettings(rate_limit_requests=1, rate_limit_retry_after=False)
    async with connect(FreshBooksSandbox(settings=settings)) as client:
        headers = await bearer(client)
        await client.get(EXPENSES, headers=headers)
        refused = await client.get(EXPENSES, headers=headers)
        assert refused.status_code == 429
        assert "retry-after" not in refused.headers
        await client.post("/_sandbox/limits", json={"enabled": False})
        assert (await client.get(EXPENSES, headers=headers)).status_code == 200


async def test_injected_faults_answer_then_stop_and_the_request_log_records_them(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        await client.post(
            "/_sandbox/faults",
            json={"path": "/expenses/expenses$", "method": "GET", "status": 503, "count": 2,
                  "retry_after": 1},
        )  # fmt: skip
        statuses = [(await client.get(EXPENSES, headers=headers)).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        log = (await client.get("/_sandbox/requests")).json()
        assert [r["status"] for r in log if r["path"] == EXPENSES] == [503, 503, 200]
