"""Zoho's per-organization limits with their exact codes, from sheet section 6."""

from __future__ import annotations

import asyncio

from sandboxes.zoho.app import ZohoSandbox
from sandboxes.zoho.settings import ZohoSandboxSettings
from tests.sandboxes.sandbox_harness import Connector, run_in_process
from tests.sandboxes.zoho.zoho_helpers import FREE_ORG, sign_in

PER_MINUTE = {
    "code": 44,
    "message": "For security reasons your organization has been blocked as it have exceeded "
    "the maximum number of requests per minute that can originate from an organization.",
}
CONCURRENCY = {
    "code": 1070,
    "message": "You have reached the maximum number of in process requests allowed. "
    "Kindly try again after some time.",
}


async def test_the_101st_request_in_a_minute_is_refused_with_code_44(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await client.post("/_sandbox/clock", json={"advance_seconds": 0})
        now = (await client.get("/_sandbox/clock")).json()
        seconds_into_minute = int(now["now"][17:19])
        # Start at the top of a minute on the sandbox clock, so all 101 share one window.
        await client.post("/_sandbox/clock", json={"advance_seconds": 60 - seconds_into_minute})
        statuses = []
        for _ in range(101):
            answer = await client.get(
                f"{s.base}/contacts", params={**s.org, "per_page": 1}, headers=s.headers
            )
            statuses.append(answer.status_code)
        assert statuses[:100] == [200] * 100
        assert answer.status_code == 429
        assert answer.json() == PER_MINUTE
        assert "retry-after" not in answer.headers  # none documented
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        again = await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        assert again.status_code == 200


async def test_the_limits_are_per_organization(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await client.post("/_sandbox/limits", json={"requests": 2})
        for _ in range(2):
            await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        third = await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        assert third.json()["code"] == 44
        other = await client.get(
            f"{s.base}/contacts", params={"organization_id": FREE_ORG}, headers=s.headers
        )
        assert other.status_code == 200


async def test_every_answer_carries_the_daily_quota_headers(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        first = await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        second = await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        assert first.headers["x-rate-limit-limit"] == "5000"  # Professional plan
        assert int(first.headers["x-rate-limit-remaining"]) == 4999
        assert int(second.headers["x-rate-limit-remaining"]) == 4998
        assert 0 < int(first.headers["x-rate-limit-reset"]) <= 86400
        free = await client.get(
            f"{s.base}/contacts", params={"organization_id": FREE_ORG}, headers=s.headers
        )
        assert free.headers["x-rate-limit-limit"] == "1000"


async def test_the_daily_quota_is_refused_with_code_45_until_the_next_day() -> None:
    quota = {"Professional": 3, "Free": 1000}
    sandbox = ZohoSandbox(settings=ZohoSandboxSettings(daily_quota_by_plan=quota))
    async with run_in_process(sandbox) as client:
        s = await sign_in(client)
        for _ in range(3):
            ok = await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
            assert ok.status_code == 200
        refused = await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        assert refused.status_code == 429
        assert refused.json() == {
            "code": 45,
            "message": "The API call for this organization has exceeded the maximum call rate "
            "limit of 3.",
        }
        assert refused.headers["x-rate-limit-remaining"] == "0"
        reset = int(refused.headers["x-rate-limit-reset"])
        await client.post("/_sandbox/clock", json={"advance_seconds": reset + 1})
        await client.post("/_sandbox/limits", json={})  # a new minute window as well
        fresh = await sign_in(client)  # the hour-long access token has expired meanwhile
        next_day = await client.get(f"{s.base}/contacts", params=s.org, headers=fresh.headers)
        assert next_day.status_code == 200
        assert next_day.headers["x-rate-limit-remaining"] == "2"


async def test_the_eleventh_concurrent_call_of_a_paid_org_gets_code_1070(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await client.post(
            "/_sandbox/faults",
            json={"path": "/contacts$", "status": 0, "delay_ms": 400, "count": 12},
        )
        answers = await asyncio.gather(
            *[
                client.get(f"{s.base}/contacts", params={**s.org, "per_page": 1}, headers=s.headers)
                for _ in range(12)
            ]
        )
        refused = [a for a in answers if a.status_code == 429]
        assert len(refused) == 2
        assert all(a.json() == CONCURRENCY for a in refused)
        assert sum(a.status_code == 200 for a in answers) == 10


async def test_a_free_org_may_run_only_five_calls_at_once(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await client.post(
            "/_sandbox/faults",
            json={"path": "/contacts$", "status": 0, "delay_ms": 400, "count": 8},
        )
        free = {"organization_id": FREE_ORG}
        answers = await asyncio.gather(
            *[client.get(f"{s.base}/contacts", params=free, headers=s.headers) for _ in range(8)]
        )
        ok = [a for a in answers if a.status_code == 200]
        refused = [a for a in answers if a.status_code == 429]
        assert len(ok) <= 5
        assert len(refused) >= 3
        assert all(a.json() == CONCURRENCY for a in refused)


async def test_injected_faults_answer_in_zohos_shape_when_asked(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await client.post(
            "/_sandbox/faults",
            json={
                "path": "/contacts$",
                "method": "GET",
                "status": 500,
                "count": 1,
                "body": {"code": 1000, "message": "Internal error"},
            },
        )
        failed = await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        assert (failed.status_code, failed.json()["code"]) == (500, 1000)
        assert (
            await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        ).status_code == 200
        log = (await client.get("/_sandbox/requests")).json()
        assert [entry["status"] for entry in log[-2:]] == [500, 200]
        assert log[-1]["path"] == "/www.zohoapis.eu/books/v3/contacts"
