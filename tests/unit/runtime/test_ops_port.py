"""The ops port over real HTTP: metrics, liveness that sees a wedged event loop, readiness
that says why not.

The loop is really blocked here (a synchronous wait inside the loop), and the probe comes
from another thread, as a kubelet's would: the point of serving the port from a thread.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from services.runtime.health import Health, Sampler, health_running
from services.runtime.metrics import VENDOR_BUDGET_USE, WEBHOOKS, bounded
from services.runtime.ops_server import OpsPortError, OpsServer, ops_server_running


def _get(port: int, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5.0)


def _until(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)  # poll: another thread's HTTP answer
    return False


async def test_metrics_are_served_with_ours_and_the_process_collectors() -> None:
    WEBHOOKS.labels("bamboohr", "accepted", "").inc()
    health = Health(stall_seconds=5)
    with ops_server_running(health, host="127.0.0.1", port=0, service="probe") as server:
        answer = await asyncio.to_thread(_get, server.port, "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'mlc_webhooks_total{reason="",result="accepted",vendor="bamboohr"}' in text
    assert "process_resident_memory_bytes" in text
    assert "# TYPE mlc_vendor_calls_total counter" in text
    assert "_created" not in text  # one series per counter, not two


async def test_a_blocked_event_loop_is_reported_not_live_by_the_ops_thread() -> None:
    health = Health(stall_seconds=0.3)
    async with health_running(health, beat_seconds=0.05):
        with ops_server_running(health, host="127.0.0.1", port=0, service="probe") as server:
            assert (await asyncio.to_thread(_get, server.port, "/livez")).status_code == 200
            seen: list[httpx.Response] = []
            released = threading.Event()

            def probe_until_not_live() -> None:
                def dead() -> bool:
                    seen.append(_get(server.port, "/livez"))
                    return seen[-1].status_code == 503

                _until(dead)
                released.set()

            prober = threading.Thread(target=probe_until_not_live)
            prober.start()
            # The handler that wedges the loop: a synchronous wait, as a blocking call is.
            # It ends when the prober saw the 503 (or after 10 s: the assertion then fails).
            released.wait(timeout=10)
            prober.join()
            assert seen[-1].status_code == 503, [r.text for r in seen]
            assert "event loop has not run" in seen[-1].text
            # The loop runs again: beats resume and liveness comes back.
            assert await asyncio.to_thread(
                _until, lambda: _get(server.port, "/livez").status_code == 200
            )


async def test_readiness_says_why_not_until_its_checks_pass() -> None:
    assigned = asyncio.Event()

    async def partitions() -> str | None:
        return None if assigned.is_set() else "no partition is assigned to this replica"

    health = Health(stall_seconds=5)
    async with health_running(health, [partitions], beat_seconds=0.05, check_seconds=0.05):
        with ops_server_running(health, host="127.0.0.1", port=0, service="probe") as server:

            def answer() -> httpx.Response:
                return _get(server.port, "/readyz")

            assert await asyncio.to_thread(
                _until, lambda: "no partition is assigned" in answer().text
            )
            assert (await asyncio.to_thread(answer)).status_code == 503
            assigned.set()
            assert await asyncio.to_thread(_until, lambda: answer().status_code == 200)
            assert (await asyncio.to_thread(_get, server.port, "/nope")).status_code == 404
            posted = await asyncio.to_thread(
                httpx.post, f"http://127.0.0.1:{server.port}/metrics", timeout=5.0
            )
            assert posted.status_code == 405


async def test_a_failing_sampler_is_tried_again_and_never_stops_the_others() -> None:
    tries = 0
    sampled = asyncio.Event()

    async def broken() -> None:
        nonlocal tries
        tries += 1
        raise RuntimeError("store away")

    async def budgets() -> None:
        VENDOR_BUDGET_USE.replace({("freshbooks", "freshbooks:c1"): 0.75})
        if tries >= 2:
            sampled.set()

    samplers = [Sampler("broken", broken, 0.01), Sampler("budgets", budgets, 0.01)]
    async with health_running(Health(stall_seconds=5), samplers=samplers):
        await asyncio.wait_for(sampled.wait(), timeout=10)
    assert VENDOR_BUDGET_USE.value("freshbooks", "freshbooks:c1") == 0.75
    VENDOR_BUDGET_USE.replace({})
    assert VENDOR_BUDGET_USE.value("freshbooks", "freshbooks:c1") is None


def test_a_taken_ops_port_is_refused_with_the_setting_to_change() -> None:
    first = OpsServer(Health(stall_seconds=5), host="127.0.0.1", port=0)
    try:
        with pytest.raises(OpsPortError, match="MLC_OPS_PORT"):
            OpsServer(Health(stall_seconds=5), host="127.0.0.1", port=first.port)
    finally:
        first.stop()


def test_a_label_from_a_caller_is_bounded_to_the_known_values() -> None:
    assert bounded("bamboohr", {"bamboohr", "freshbooks"}) == "bamboohr"
    assert bounded("x" * 500, {"bamboohr", "freshbooks"}) == "other"
