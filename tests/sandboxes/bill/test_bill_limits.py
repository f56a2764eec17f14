"""BILL's limits: 3 concurrent requests per org, hourly dev-key quota, login quota (sheet 5)."""

from __future__ import annotations

import asyncio

from sandboxes.bill.app import BillSandbox
from sandboxes.bill.settings import BillSandboxSettings
from tests.sandboxes.bill.bill_helpers import API, login, single_error, start_of_next_hour
from tests.sandboxes.sandbox_harness import Connector


async def test_ten_concurrent_calls_see_bdc_1322_from_the_fourth(connect: Connector) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        # Each vendor read takes 400 ms, so all ten are in flight together.
        await client.post(
            "/_sandbox/faults",
            json={
                "path": "^/connect/v3/vendors$",
                "method": "GET",
                "status": 0,
                "delay_ms": 400,
                "count": 10,
            },
        )
        answers = await asyncio.gather(
            *(client.get(f"{API}/vendors", headers=headers) for _ in range(10))
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 3 + [429] * 7
        refused = [a for a in answers if a.status_code == 429]
        for answer in refused:
            error = single_error(answer)
            assert error["code"] == "BDC_1322"
            assert error["message"] == "Max number of concurrent requests per organization reached."
        # Once the three finish, the org may call again.
        assert (await client.get(f"{API}/vendors", headers=headers)).status_code == 200


async def test_the_hourly_quota_answers_bdc_1144_until_the_next_hour(
    in_process: Connector,
) -> None:
    async with in_process(BillSandbox(settings=BillSandboxSettings(hourly_requests=5))) as client:
        await start_of_next_hour(client)
        headers = await login(client)
        for _ in range(5):
            assert (await client.get(f"{API}/vendors", headers=headers)).status_code == 200
        refused = await client.get(f"{API}/vendors", headers=headers)
        assert refused.status_code == 429
        error = single_error(refused)
        assert error["code"] == "BDC_1144"
        assert error["message"] == "Max number of allowed requests per hour reached: 5."
        await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
        headers = await login(client)
        assert (await client.get(f"{API}/vendors", headers=headers)).status_code == 200


async def test_logins_are_limited_per_dev_key_per_hour(in_process: Connector) -> None:
    async with in_process(BillSandbox(settings=BillSandboxSettings(logins_per_hour=3))) as client:
        await start_of_next_hour(client)
        for _ in range(3):
            await login(client)
        creds = (await client.post("/_sandbox/credentials")).json()
        refused = await client.post(
            f"{API}/login",
            json={
                "username": creds["username"],
                "password": creds["password"],
                "organizationId": creds["organization_id"],
                "devKey": creds["dev_key"],
            },
        )
        assert refused.status_code == 429
        assert single_error(refused)["code"] == "BDC_1144"


async def test_the_limit_status_is_a_setting(in_process: Connector) -> None:
    settings = BillSandboxSettings(hourly_requests=1, limit_status=400)
    async with in_process(BillSandbox(settings=settings)) as client:
        await start_of_next_hour(client)
        headers = await login(client)
        assert (await client.get(f"{API}/vendors", headers=headers)).status_code == 200
        refused = await client.get(f"{API}/vendors", headers=headers)
        assert refused.status_code == 400
        assert single_error(refused)["code"] == "BDC_1144"


async def test_limits_can_be_switched_off_through_the_control_api(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        await client.post("/_sandbox/limits", json={"enabled": False})
        await client.post(
            "/_sandbox/faults",
            json={"path": "^/connect/v3/vendors$", "status": 0, "delay_ms": 200, "count": 6},
        )
        answers = await asyncio.gather(
            *(client.get(f"{API}/vendors", headers=headers) for _ in range(6))
        )
        assert [a.status_code for a in answers] == [200] * 6
