"""Fault injection and vendor limits, on the sandbox clock."""

from __future__ import annotations

import asyncio

from sandboxes.kit import LimitPolicy
from tests.sandboxes.kit.toy_sandbox import ToySandbox
from tests.sandboxes.sandbox_harness import Connector


async def test_a_fault_answers_its_status_count_times_then_the_vendor_answers(
    connect: Connector,
) -> None:
    async with connect(ToySandbox()) as client:
        rule = {"path": "^/widgets$", "method": "GET", "status": 429, "count": 2, "retry_after": 3}
        await client.post("/_sandbox/faults", json=rule)
        statuses = [(await client.get("/widgets")) for _ in range(3)]
        assert [r.status_code for r in statuses] == [429, 429, 200]
        assert statuses[0].headers["retry-after"] == "3"
        assert (await client.post("/widgets", json={"name": "x"})).status_code == 201
        faults = (await client.get("/_sandbox/faults")).json()
        assert faults[0]["fired"] == 2
        assert faults[0]["remaining"] == 0


async def test_a_fault_can_carry_a_json_or_text_body(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        await client.post(
            "/_sandbox/faults",
            json=[
                {"path": "/widgets", "status": 500, "body": {"error": "boom"}},
                {"path": "/me", "status": 502, "body": "bad gateway"},
            ],
        )
        json_fault = await client.get("/widgets")
        assert (json_fault.status_code, json_fault.json()) == (500, {"error": "boom"})
        text_fault = await client.get("/me")
        assert (text_fault.status_code, text_fault.text) == (502, "bad gateway")


async def test_a_delay_only_fault_slows_the_answer_but_keeps_it(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/_sandbox/faults", json={"path": "/widgets", "delay_ms": 200})
        loop = asyncio.get_running_loop()
        started = loop.time()
        answer = await client.get("/widgets")
        assert answer.status_code == 200
        assert loop.time() - started >= 0.19


async def test_the_rate_limit_refuses_with_retry_after_until_the_window_passes(
    connect: Connector,
) -> None:
    sandbox = ToySandbox(limits=LimitPolicy(requests=3, window_seconds=60))
    async with connect(sandbox) as client:
        answers = [await client.get("/widgets") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[3].json() == {"error": "rate", "limit": 3}
        assert 1 <= int(answers[3].headers["retry-after"]) <= 60
        assert (await client.get("/widgets", headers={"x-org": "other"})).status_code == 200
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        assert (await client.get("/widgets")).status_code == 200


async def test_limits_are_adjustable_through_the_control_api(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        policy = (await client.post("/_sandbox/limits", json={"requests": 1})).json()
        assert policy["requests"] == 1
        assert [(await client.get("/widgets")).status_code for _ in range(2)] == [200, 429]
        await client.post("/_sandbox/limits", json={"enabled": False})
        assert (await client.get("/widgets")).status_code == 200


async def test_the_concurrency_cap_refuses_requests_beyond_it(connect: Connector) -> None:
    sandbox = ToySandbox(limits=LimitPolicy(concurrent=2))
    async with connect(sandbox) as client:
        # A delay fault holds each request's slot long enough for all five to overlap.
        await client.post(
            "/_sandbox/faults", json={"path": "/widgets", "delay_ms": 300, "count": 5}
        )
        answers = await asyncio.gather(*(client.get("/widgets") for _ in range(5)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 200, 429, 429, 429]
        assert sandbox.limiter.in_flight("o1") == 0
