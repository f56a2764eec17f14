"""Throttling (sheet 12) and the kit's faults on the BambooHR sandbox."""

from __future__ import annotations

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from sandboxes.kit import LimitPolicy
from tests.sandboxes.bamboohr.bamboo_helpers import ACTIVE_EMPLOYEE, ADMIN, GATEWAY
from tests.sandboxes.sandbox_harness import Connector

URL = f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}"


async def test_throttling_answers_503_with_retry_after_and_the_error_header(
    connect: Connector,
) -> None:
    sandbox = BambooHRSandbox(limits=LimitPolicy(requests=5, window_seconds=60))
    async with connect(sandbox) as client:
        statuses = [(await client.get(URL, auth=ADMIN)).status_code for _ in range(5)]
        assert statuses == [200] * 5
        throttled = await client.get(URL, auth=ADMIN)
        assert throttled.status_code == 503
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        assert throttled.headers["x-bamboohr-error-message"]
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        assert (await client.get(URL, auth=ADMIN)).status_code == 200


async def test_the_2026_switch_to_429_is_a_setting(connect: Connector) -> None:
    settings = BambooHRSandboxSettings(throttle_status=429, rate_limit_requests=1)
    async with connect(BambooHRSandbox(settings=settings)) as client:
        assert (await client.get(URL, auth=ADMIN)).status_code == 200
        throttled = await client.get(URL, auth=ADMIN)
        assert throttled.status_code == 429
        assert "retry-after" in throttled.headers


async def test_limits_are_on_by_default_and_adjustable_through_the_control_api(
    connect: Connector,
) -> None:
    async with connect(BambooHRSandbox()) as client:
        policy = (await client.get("/_sandbox/limits")).json()
        assert policy["enabled"] is True
        assert policy["requests"] == 300
        await client.post("/_sandbox/limits", json={"requests": 2})
        statuses = [(await client.get(URL, auth=ADMIN)).status_code for _ in range(3)]
        assert statuses == [200, 200, 503]


async def test_an_injected_fault_precedes_the_real_answer(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        await client.post(
            "/_sandbox/faults",
            json={"path": "/employees/\\d+$", "status": 500, "count": 1, "method": "GET"},
        )
        assert (await client.get(URL, auth=ADMIN)).status_code == 500
        assert (await client.get(URL, auth=ADMIN)).status_code == 200
        log = (await client.get("/_sandbox/requests")).json()
        assert [entry["status"] for entry in log] == [500, 200]
