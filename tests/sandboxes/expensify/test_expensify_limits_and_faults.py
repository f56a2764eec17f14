"""Request limits (sheet 10): 5 per 10 s and 20 per 60 s per credential pair, under concurrency."""

from __future__ import annotations

import asyncio

import httpx

from sandboxes.expensify.app import ExpensifySandbox
from sandboxes.expensify.settings import ExpensifySandboxSettings
from tests.sandboxes.expensify.exp_helpers import job, pair
from tests.sandboxes.sandbox_harness import Connector

LIMITED = {
    "responseMessage": "You have been rate-limited. Please try again later or contact "
    "help@expensify.com for assistance.",
    "responseCode": 429,
}


async def _burst(client: httpx.AsyncClient, credentials: dict[str, str], n: int) -> list[int]:
    description = {"type": "get", "credentials": credentials,
                   "inputSettings": {"type": "policyList"}}  # fmt: skip
    answers = await asyncio.gather(*(job(client, description) for _ in range(n)))
    refused = [a for a in answers if a.status_code == 429]
    assert all(a.json() == LIMITED for a in refused)
    assert all(a.json()["responseCode"] == 200 for a in answers if a.status_code == 200)
    return sorted(a.status_code for a in answers)


async def test_eight_concurrent_jobs_see_five_through_and_three_rate_limited(
    connect: Connector,
) -> None:
    async with connect(ExpensifySandbox()) as client:
        credentials = await pair(client)
        assert await _burst(client, credentials, 8) == [200] * 5 + [429] * 3
        await client.post("/_sandbox/clock", json={"advance_seconds": 10})
        assert await _burst(client, credentials, 6) == [200] * 5 + [429]


async def test_the_sixty_second_window_holds_after_the_ten_second_ones_clear(
    connect: Connector,
) -> None:
    async with connect(ExpensifySandbox()) as client:
        credentials = await pair(client)
        for _ in range(4):
            assert await _burst(client, credentials, 5) == [200] * 5
            await client.post("/_sandbox/clock", json={"advance_seconds": 10})
        assert await _burst(client, credentials, 1) == [429]  # 20 in the last 40 s
        await client.post("/_sandbox/clock", json={"advance_seconds": 21})
        assert await _burst(client, credentials, 5) == [200] * 5


async def test_limits_count_per_credential_pair(connect: Connector) -> None:
    async with connect(ExpensifySandbox()) as client:
        credentials = await pair(client)
        other = {"partnerUserID": "aa_ops_acmecreative_example", "partnerUserSecret": "s3cret"}
        await client.post("/_sandbox/seed", json={"credentials": [
            {"id": other["partnerUserID"], **other, "email": "ava.nguyen@acmecreative.example"}
        ]})  # fmt: skip
        assert await _burst(client, credentials, 6) == [200] * 5 + [429]
        assert await _burst(client, other, 5) == [200] * 5


async def test_the_older_fifty_per_minute_rule_and_retry_after_are_settings(
    connect: Connector,
) -> None:
    settings = ExpensifySandboxSettings(rate_windows=((50, 60.0),),
                                        rate_limit_retry_after_header=True)  # fmt: skip
    async with connect(ExpensifySandbox(settings=settings)) as client:
        credentials = await pair(client)
        assert await _burst(client, credentials, 51) == [200] * 50 + [429]
        refused = await job(client, {"type": "get", "credentials": credentials,
                                     "inputSettings": {"type": "policyList"}})  # fmt: skip
        assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_limits_switch_off_and_change_through_the_control_api(connect: Connector) -> None:
    async with connect(ExpensifySandbox()) as client:
        credentials = await pair(client)
        await client.post("/_sandbox/limits", json={"enabled": False})
        assert await _burst(client, credentials, 12) == [200] * 12
        await client.post("/_sandbox/limits", json={"enabled": True})
        changed = await client.post("/_sandbox/actions/set_rate_windows",
                                    json={"windows": [[2, 30]]})  # fmt: skip
        assert changed.json() == {"windows": [[2, 30.0]]}
        assert await _burst(client, credentials, 3) == [200, 200, 429]


async def test_an_injected_fault_precedes_the_real_answer(connect: Connector) -> None:
    async with connect(ExpensifySandbox()) as client:
        credentials = await pair(client)
        await client.post("/_sandbox/faults", json={"path": "ExpensifyIntegrations$",
                                                    "status": 500, "method": "POST"})  # fmt: skip
        assert await _burst(client, credentials, 1) == [500]
        assert await _burst(client, credentials, 1) == [200]
        log = (await client.get("/_sandbox/requests")).json()
        assert [(e["path"], e["status"]) for e in log] == [
            ("/Integration-Server/ExpensifyIntegrations", 500),
            ("/Integration-Server/ExpensifyIntegrations", 200),
        ]


async def test_a_kit_window_added_through_the_control_api_answers_expensifys_refusal(
    connect: Connector,
) -> None:
    async with connect(ExpensifySandbox()) as client:
        credentials = await pair(client)
        await client.post("/_sandbox/limits", json={"requests": 2, "window_seconds": 60})
        assert await _burst(client, credentials, 3) == [200, 200, 429]
        bad = await client.post("/_sandbox/actions/set_rate_windows", json={"windows": [[0, 1]]})
        assert bad.status_code == 400
