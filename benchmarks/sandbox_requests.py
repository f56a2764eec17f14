"""Benchmark 7: how much load the BambooHR sandbox takes (GET one employee, JSON).

In process through ``httpx.ASGITransport`` (what fast tests use) and over a
real socket with ``sandboxes.kit.serve`` (uvicorn in the same event loop as the
client, as in integration tests), one request at a time and with several in
flight. The sandbox's own rate limit is switched off: it is the ceiling of the
simulator that is measured, not the vendor's limit it imitates.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from benchmarks.results import Measurement, Target, rate_of_async
from sandboxes.bamboohr.app import BambooHRSandbox, build_sandbox
from sandboxes.bamboohr.seed import ADMIN_API_KEY
from sandboxes.kit import LimitPolicy, SandboxApp, build_app, serve

__all__ = [
    "TARGETS",
    "measure_sandbox_in_process",
    "measure_sandbox_over_socket",
]

# The gateway form of the default seed's company, and one of its active employees.
EMPLOYEE_PATH = "/api/gateway.php/acme/v1/employees/108"
FIELDS = {"fields": "firstName,lastName,workEmail,department,jobTitle,status"}

TARGETS = {
    "in_process": Target(
        500,
        "at_least",
        "a test suite makes hundreds of sandbox calls; in process they must cost well under a "
        "millisecond each (here about 3,300/s)",
    ),
    "socket": Target(
        300,
        "at_least",
        "integration tests and the demo go over loopback HTTP and a flow test makes tens of "
        "calls; here about 1,000/s when the server's accepted sockets have TCP_NODELAY, "
        "about 22/s without it (each answer waits about 40 ms for a delayed ACK)",
    ),
    "socket_concurrent": Target(
        300,
        "at_least",
        "concurrent clients (rate-limit and fan-out tests) must get at least the sequential "
        "rate (here about 1,050/s with TCP_NODELAY, about 180/s without)",
    ),
}


async def _get_employee(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        EMPLOYEE_PATH,
        params=FIELDS,
        auth=httpx.BasicAuth(ADMIN_API_KEY, "x"),
        headers={"Accept": "application/json"},
    )
    if answer.status_code != httpx.codes.OK:
        msg = f"GET employee answered {answer.status_code}: {answer.text[:200]}"
        raise AssertionError(msg)


async def _concurrent_rate(client: httpx.AsyncClient, *, count: int, concurrency: int) -> float:
    async def worker(first: int) -> None:
        for _ in range(first, count, concurrency):
            await _get_employee(client)

    started = time.perf_counter()
    await asyncio.gather(*(worker(first) for first in range(concurrency)))
    return count / (time.perf_counter() - started)


def _sandbox_app() -> tuple[BambooHRSandbox, SandboxApp]:
    sandbox = build_sandbox(limits=LimitPolicy(enabled=False))
    return sandbox, build_app(sandbox)


async def measure_sandbox_in_process(*, count: int, warm_up: int = 50) -> list[Measurement]:
    """GET employee per second through ``httpx.ASGITransport``, one at a time."""
    sandbox, app = _sandbox_app()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
            rate = await rate_of_async(
                lambda _: _get_employee(client), count=count, warm_up=warm_up
            )
    finally:
        await sandbox.aclose()
    return [
        Measurement(
            "BambooHR sandbox GET employee, in process", rate, "requests/s", TARGETS["in_process"]
        )
    ]


async def measure_sandbox_over_socket(
    *, count: int, concurrency: int = 8, warm_up: int = 50
) -> list[Measurement]:
    """GET employee per second over loopback HTTP, one at a time and ``concurrency`` wide."""
    sandbox, app = _sandbox_app()
    try:
        async with serve(app) as server, httpx.AsyncClient(base_url=server.base_url) as client:
            sequential = await rate_of_async(
                lambda _: _get_employee(client), count=count, warm_up=warm_up
            )
            concurrent = await _concurrent_rate(client, count=count, concurrency=concurrency)
    finally:
        await sandbox.aclose()
    return [
        Measurement(
            "BambooHR sandbox GET employee, real socket",
            sequential,
            "requests/s",
            TARGETS["socket"],
        ),
        Measurement(
            f"BambooHR sandbox GET employee, real socket, {concurrency} in flight",
            concurrent,
            "requests/s",
            TARGETS["socket_concurrent"],
        ),
    ]
