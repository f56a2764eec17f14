"""The webhook edge against a bare uvicorn endpoint, side by side in one run (issue 17, goal 6).

The edge does real work for each delivery: it finds the connection, verifies BambooHR's
HMAC over body and timestamp, checks the timestamp window, publishes a ``RawDelivery`` and
waits for Kafka's acknowledgement (acks=all), then claims the delivery in the store's
ledger, and answers 200 ``accepted``. The bare endpoint (:mod:`benchmarks.bare_endpoint`,
its own uvicorn process) answers 200 to the same requests and does nothing.

The edge is measured as it is deployed: ``python -m services.ingest`` alone in its process
(its scheduler off). The stack sets the scene with the edge and the control plane apart
(``StackPlan.control_port``), the BambooHR sandbox connected so the store holds a
registered webhook's secret, and the control plane is then stopped: its read model folds
every delivery into the store, work a deployment does in another process (on another
machine, usually) and that would be measured as the edge's here. No vendor service
consumes. Each request is signed with the secret (read from the store with the stack's
keys, as the edge reads it) and is a delivery of its own (distinct bodies: the edge
answers a repeated body ``duplicate`` without publishing, which would measure nothing).
Both servers get the same number of requests, from the same client, with the same
concurrency; the bare endpoint first, then the edge, each after a warm-up that is not
counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
import orjson

from benchmarks.results import Measurement, Target
from devstack.credentials import stack_credentials
from devstack.ports import free_port
from devstack.processes import ProcessTable
from devstack.stack import CONTROL, StackInfo, StackPlan, start_stack, stop_stack
from sandboxes.bamboohr.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, USER_AGENT, sign
from services.runtime.webhook_records import ROUTE_PATH, SECRET_FIELD

__all__ = ["measure_edge"]

ROOT: Final = Path(__file__).resolve().parents[1]
WARM_UP: Final = 100
START_SECONDS: Final = 30.0
SECRET_WAIT_SECONDS: Final = 60.0
RATIO_TARGET: Final = Target(
    0.5,
    "at_least",
    "issue 17, goal 6: verified, durably acknowledged webhooks at least half as fast as an "
    "endpoint that only answers 200; the edge's own work per delivery is an HMAC, a store "
    "read and a claim, and one Kafka round trip (acks=all)",
)


@dataclass(frozen=True, slots=True)
class _Fired:
    rate: float
    answers: Counter[str]


def _say(_: str) -> None:
    """The stack's progress lines are not part of a benchmark's output."""


async def _webhook_secret(plan: StackPlan, connection_id: str) -> tuple[str, str]:
    """The (webhook id, secret) the edge verifies this connection's deliveries with."""
    deadline = time.monotonic() + SECRET_WAIT_SECONDS
    async with stack_credentials(plan) as read:
        while True:
            stored = await read(connection_id)
            for name, secret in stored.items():
                if name.startswith(f"{SECRET_FIELD}:"):
                    return name, secret
            if time.monotonic() > deadline:
                msg = f"no webhook secret for {connection_id} after {SECRET_WAIT_SECONDS:.0f} s"
                raise TimeoutError(msg)
            await asyncio.sleep(0.2)  # poll: the registration stores the secret when it is done


def _signed_deliveries(
    secret: str, count: int, *, first: int
) -> list[tuple[bytes, dict[str, str]]]:
    """``count`` distinct employee.updated deliveries, signed as BambooHR signs them."""
    stamp = str(int(datetime.now(UTC).timestamp()))
    deliveries = []
    for number in range(first, first + count):
        body = orjson.dumps(
            {
                "type": "employee.updated",
                "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "data": {
                    "companyId": "1",
                    "employeeId": str(number),
                    "changedFields": ["lastName"],
                },
            }
        )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(body=body, timestamp=stamp, private_key=secret),
        }
        deliveries.append((body, headers))
    return deliveries


async def _fire(
    url: str, deliveries: Sequence[tuple[bytes, dict[str, str]]], *, concurrency: int
) -> _Fired:
    """POST every delivery to ``url`` with ``concurrency`` in flight; rate of 200s."""
    answers: Counter[str] = Counter()
    queue = list(reversed(deliveries))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:

        async def worker() -> None:
            while queue:
                body, headers = queue.pop()
                try:
                    answer = await client.post(url, content=body, headers=headers)
                except httpx.TransportError as error:  # counted: the row names what happened
                    answers[f"no answer: {type(error).__name__}"] += 1
                    continue
                status = answer.json().get("status", "") if answer.status_code == 200 else ""
                answers[f"{answer.status_code} {status}".strip()] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ok = sum(n for key, n in answers.items() if key.startswith("200"))
    return _Fired(rate=ok / elapsed if elapsed > 0 else 0.0, answers=answers)


@contextlib.asynccontextmanager
async def _server(name: str, argv: Sequence[str], probe: str) -> AsyncIterator[None]:
    """``argv`` run as a process of its own until the block ends, once ``probe`` answers."""
    process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own interpreter and module
        [sys.executable, *argv], cwd=ROOT
    )
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            deadline = time.monotonic() + START_SECONDS
            while True:
                with contextlib.suppress(httpx.TransportError):
                    await client.post(probe, content=b"{}")
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    msg = f"the {name} did not start (exit status {process.poll()})"
                    raise RuntimeError(msg)
                await asyncio.sleep(0.1)  # poll: the process binds its port when ready
        yield
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


@contextlib.asynccontextmanager
async def _bare_endpoint() -> AsyncIterator[str]:
    """The bare uvicorn endpoint in a process of its own, like the edge; its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/bamboohr/bare"
    argv = ["-m", "uvicorn", "benchmarks.bare_endpoint:app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    async with _server("bare endpoint", argv, url):
        yield url


@contextlib.asynccontextmanager
async def _edge_alone(bootstrap: str) -> AsyncIterator[tuple[StackPlan, StackInfo]]:
    with tempfile.TemporaryDirectory(prefix="mlc-bench-edge-") as scratch:
        plan = StackPlan(
            run_dir=Path(scratch),
            sandboxes=("bamboohr",),
            sandbox_ports={"bamboohr": free_port()},
            flows=(),
            ingest_port=free_port(),
            control_port=free_port(),  # the edge alone in its process, as deployed
            kafka_port=free_port(),  # unused: the broker is given
            kafka_bootstrap=bootstrap,
            settings={
                # Every request comes from this one address, as from a proxy. The
                # per-address cap (32, the benchmark's concurrency) can refuse the timed
                # run's first connections while the warm-up's 32 are still closing: the
                # likeliest cause of the ReadError that failed this row once (make bench
                # on 3102688).
                "MLC_HTTP_CONNECTIONS_PER_CLIENT": "0",
            },
            fresh=True,
            scheduler=False,
            ports_picked=True,  # a port taken before our server bound it: another one
        )
        try:
            info = await start_stack(plan, _say)
            # Its read model folds every delivery into the store: a deployment's other
            # process (on another machine, usually), not the edge's work.
            ProcessTable(plan.run_dir).stop(CONTROL)
            yield plan, info
        finally:
            await asyncio.to_thread(stop_stack, plan, _say)


async def measure_edge(bootstrap: str, *, deliveries: int, concurrency: int) -> list[Measurement]:
    """``deliveries`` signed webhooks at the edge and at a bare endpoint; both rates, the ratio."""
    async with _edge_alone(bootstrap) as (plan, info):
        connection = info.connections["bamboohr"]
        _, secret = await _webhook_secret(plan, connection)
        warm = _signed_deliveries(secret, WARM_UP, first=1_000_000)
        timed = _signed_deliveries(secret, deliveries, first=2_000_000)
        async with _bare_endpoint() as bare_url:
            await _fire(bare_url, warm, concurrency=concurrency)
            bare = await _fire(bare_url, timed, concurrency=concurrency)
        edge_url = info.ingest + ROUTE_PATH.format(vendor="bamboohr", connection_id=connection)
        await _fire(edge_url, warm, concurrency=concurrency)
        edge = await _fire(edge_url, timed, concurrency=concurrency)
    accepted = edge.answers.get("200 accepted", 0)
    if accepted != deliveries:
        msg = f"the edge accepted {accepted} of {deliveries} deliveries: {dict(edge.answers)}"
        raise RuntimeError(msg)
    setup = f"{deliveries:,} signed deliveries, {concurrency} in flight, one client on this machine"
    return [
        Measurement(
            "edge: verified, durably acknowledged webhooks",
            edge.rate,
            "webhooks/s",
            note=f"{setup}; answers {dict(edge.answers)}",
        ),
        Measurement(
            "bare uvicorn endpoint answering 200 to the same requests",
            bare.rate,
            "requests/s",
            note=f"{setup}; answers {dict(bare.answers)}",
        ),
        Measurement(
            "edge / bare uvicorn endpoint",
            edge.rate / bare.rate if bare.rate else 0.0,
            "of the bare rate",
            RATIO_TARGET,
        ),
    ]
