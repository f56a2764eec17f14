"""License limits (sheet section 8): requests per minute, concurrency and its queue, pacing."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx
import pytest

from sandboxes.acumatica.throttle import pacing_delay
from tests.sandboxes.acumatica.acumatica_helpers import (
    DEFAULT,
    INSTANCE,
    LOGOUT,
    quiet_sandbox,
    sign_in,
)
from tests.sandboxes.sandbox_harness import Connector


async def _start_of_a_minute(client: httpx.AsyncClient) -> None:
    """Move the sandbox clock to one second into a fresh license minute."""
    now = datetime.fromisoformat((await client.get("/_sandbox/clock")).json()["now"])
    into_minute = now.second + now.microsecond / 1e6
    await client.post("/_sandbox/clock", json={"advance_seconds": 61 - into_minute})


async def test_requests_beyond_the_per_minute_limit_are_declined_with_429(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox(license_requests_per_minute=5)) as client:
        await _start_of_a_minute(client)
        await sign_in(client)
        statuses = [(await client.get(f"{DEFAULT}/Employee")).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        assert (await client.get(f"{DEFAULT}/Employee")).status_code == 200


async def test_the_declined_request_is_an_http_error_body_without_retry_after(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox(license_requests_per_minute=2)) as client:
        await _start_of_a_minute(client)
        await sign_in(client)
        assert (await client.get(f"{DEFAULT}/Employee")).status_code == 200
        refused = await client.get(f"{DEFAULT}/Employee")
        assert refused.status_code == 429
        body = refused.json()
        assert set(body) >= {"message", "exceptionMessage", "exceptionType"}
        assert "license" in body["exceptionMessage"]
        assert "retry-after" not in refused.headers
        # Sign-out skips the queue, so a connection can always give its seat back.
        assert (await client.post(LOGOUT)).status_code == 204


async def test_more_requests_in_flight_than_license_and_queue_hold_are_declined(
    connect: Connector,
) -> None:
    sandbox = quiet_sandbox(license_concurrent_requests=1, license_queue_size=2)
    async with connect(sandbox) as client:
        await sign_in(client)
        slow = {"path": "/Employee$", "method": "GET", "status": 0, "delay_ms": 1000, "count": 10}
        await client.post("/_sandbox/faults", json=slow)
        answers = await asyncio.gather(*(client.get(f"{DEFAULT}/Employee") for _ in range(6)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 200, 200, 429, 429, 429]


async def test_the_policy_follows_the_license_settings_and_can_be_switched_off(
    connect: Connector,
) -> None:
    sandbox = quiet_sandbox(license_requests_per_minute=50, license_concurrent_requests=2)
    async with connect(sandbox) as client:
        policy = (await client.get("/_sandbox/limits")).json()
        assert policy["requests"] == 50
        assert policy["concurrent"] == 22
        await client.post("/_sandbox/limits", json={"enabled": False})
        await sign_in(client)
        statuses = {(await client.get(f"{DEFAULT}/Employee")).status_code for _ in range(60)}
        assert statuses == {200}


@pytest.mark.parametrize(
    ("limit", "done", "seconds_left", "expected"),
    [(50, 25, 20.0, 0.8), (50, 24, 20.0, 0.0), (50, 40, 30.0, 3.0), (50, 50, 12.0, 12.0)],
)
def test_past_half_the_limit_each_request_waits_time_left_over_requests_left(
    limit: int, done: int, seconds_left: float, expected: float
) -> None:
    delay = pacing_delay(limit=limit, done=done, seconds_left=seconds_left, from_fraction=0.5)
    assert delay == pytest.approx(expected)


async def test_past_half_the_limit_the_sandbox_really_holds_the_request(
    in_process: Connector,
) -> None:
    sandbox = quiet_sandbox(license_requests_per_minute=4, throttle_delay_scale=1.0)
    async with in_process(sandbox) as client:
        now = datetime.fromisoformat((await client.get("/_sandbox/clock")).json()["now"])
        # Two seconds before the minute ends: the third request waits (2 s left) / (2 left),
        # about 1 s. The sandbox clock runs on real time, so the margin absorbs up to 1.2 s
        # spent between reading `now` and that request on a loaded machine (with 1 s left a
        # fresh-clone run under load saw only 0.17 s of hold).
        into_minute = now.second + now.microsecond / 1e6
        await client.post("/_sandbox/clock", json={"advance_seconds": (58 - into_minute) % 60})
        for _ in range(2):
            await client.get(f"{INSTANCE}/entity")
        started = time.monotonic()
        assert (await client.get(f"{INSTANCE}/entity")).status_code == 200
        assert time.monotonic() - started >= 0.4
