"""The console's pages and ``mlc status`` with a long log behind them (issue 15's row).

A fresh state store with one link, ``outcomes`` sync outcomes of that link (and one dead
letter per thousand) published to bench topics, and the read model's folder run until it
has folded them all (its rate is a row too). Then each console page and the operator API's
``GET /api/v1/status`` (what ``mlc status`` prints) is asked ``requests`` times in
process (ASGI, no socket: the time is the server's), signed in as a person would be.
The pages read the read model, not the topics, so their time must not grow with the log.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer

from benchmarks.kafka import bench_topic
from benchmarks.results import Measurement, Target, percentile
from schemas.envelope import utcnow
from schemas.outcomes import DeadLetter, SyncOutcome
from services.control.app import control_api
from services.control.projection import Projection, projection_running
from services.control.settings import ControlSettings
from services.runtime.publishing import encode_event
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry

__all__ = ["TARGETS", "measure_console"]

TOKEN: Final = secrets.token_urlsafe(16)  # a fresh operator token for this run
PAGE_TARGET: Final = Target(
    200,
    "at_most",
    "issue 15: every console page and mlc status under 200 ms of server time with "
    "100,000 outcomes in the log (p95 of the requests)",
)
FOLD_TARGET: Final = Target(
    1_000,
    "at_least",
    "the read model keeps up with a busy log: the flows publish tens of outcomes a second",
)
TARGETS: Final = {"page": PAGE_TARGET, "fold": FOLD_TARGET}
PAGES: Final = (
    ("links page", "/console/links"),
    ("links page refresh (every 5 s)", "/console/links/rows"),
    ("review page", "/console/review"),
    ("dead-letters page", "/console/dead-letters"),
    ("connections page", "/console/connections"),
    ("mlc status (GET /api/v1/status)", "/api/v1/status"),
)
_STATUSES: Final = ("applied", "unchanged", "unchanged", "unchanged", "failed")


async def measure_console(
    bootstrap: str, *, outcomes: int, requests: int = 40, timeout_s: float = 600.0
) -> list[Measurement]:
    """Rows: the fold rate, then each page's p95 server time."""
    with TemporaryDirectory(prefix="mlc-bench-console-") as directory:
        store = await StateStore.open(f"sqlite+aiosqlite:///{Path(directory) / 'state.db'}")
        try:
            async with _log(bootstrap) as topics:
                link_id, target = await _link(store)
                await _publish(bootstrap, topics, link_id, target, outcomes)
                projection = Projection(store, bootstrap, topics)
                started = time.perf_counter()
                async with projection_running(projection):
                    await _folded(projection, timeout_s)
                    fold_rate = outcomes / (time.perf_counter() - started)
                    times = await _page_times(store, bootstrap, projection, requests)
        finally:
            await store.close()
    note = f"{outcomes:,} outcomes of one link, {outcomes // 1000} dead letters"
    rows = [
        Measurement(
            f"read model fold rate ({outcomes:,} outcomes)",
            fold_rate,
            "events/s",
            FOLD_TARGET,
            note,
        )
    ]
    rows += [
        Measurement(
            f"console {name}, p95 with {outcomes:,} outcomes",
            percentile(samples, 0.95) * 1000,
            "ms",
            PAGE_TARGET,
            f"{len(samples)} requests, p50 {percentile(samples, 0.5) * 1000:.1f} ms",
        )
        for name, samples in times.items()
    ]
    return rows


@asynccontextmanager
async def _log(bootstrap: str) -> AsyncIterator[list[str]]:
    async with (
        bench_topic(bootstrap, "console-outcomes") as outcomes,
        bench_topic(bootstrap, "console-dlq") as dead,
    ):
        yield [outcomes, dead]


async def _link(store: StateStore) -> tuple[str, str]:
    async with store.transaction() as tx:
        source = await tx.connections.create(
            vendor="bamboohr", tenant_id="bench", display_name="BambooHR"
        )
        target = await tx.connections.create(
            vendor="freshbooks", tenant_id="bench", display_name="FreshBooks"
        )
        link = await tx.links.create(
            source_connection_id=source.id,
            target_connection_id=target.id,
            flow="people-freshbooks",
        )
    return link.id, target.id


async def _publish(
    bootstrap: str, topics: list[str], link_id: str, target: str, count: int
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        sent = []
        for number in range(count):
            outcome = SyncOutcome(
                connection_id=target,
                occurred_at=utcnow(),
                entity_key=f"person-{number % 5000}",
                service="freshbooks",
                link_id=link_id,
                target_connection_id=target,
                status=_STATUSES[number % len(_STATUSES)],
                operation="invite_team_member",
                correlation_id=uuid4(),
            )
            key = f"{target}:{outcome.entity_key}".encode()
            sent.append(await producer.send(topics[0], encode_event(outcome), key=key))
            if number % 1000 == 999:
                letter = DeadLetter(
                    connection_id=target,
                    occurred_at=utcnow(),
                    entity_key=outcome.entity_key,
                    service="freshbooks",
                    original_topic="people.employee",
                    original_partition=0,
                    original_offset=number,
                    original="{}",
                    attempts=5,
                    error_type="VendorCallError",
                    error="FreshBooks answered HTTP 500",
                )
                sent.append(await producer.send(topics[1], encode_event(letter), key=key))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _folded(projection: Projection, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        behind = await projection.behind(wait_seconds=5.0)
        if behind == 0:
            return
        if time.monotonic() > deadline:
            msg = f"the read model was still {behind} events behind after {timeout_s:.0f} s"
            raise TimeoutError(msg)
        if behind < 0:  # its consumer is not started yet: give it the loop
            await asyncio.sleep(0.1)


async def _page_times(
    store: StateStore, bootstrap: str, projection: Projection, requests: int
) -> dict[str, list[float]]:
    settings = ControlSettings(kafka_bootstrap_servers=bootstrap, operator_token=TOKEN)
    vault = Vault.from_text(generate_key_ring_entry("bench"))

    async def ping(_: float) -> bool:
        return True

    app = control_api(settings, store, vault, projection=projection, ping=ping)
    transport = httpx.ASGITransport(app=app)
    times: dict[str, list[float]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://control.bench") as client:
        signed = await client.post("/console/sign-in", data={"token": TOKEN, "next": ""})
        if signed.status_code != 303:
            msg = f"sign-in answered {signed.status_code}"
            raise RuntimeError(msg)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for name, path in PAGES:
            samples = []
            for attempt in range(requests + 2):
                started = time.perf_counter()
                answer = await client.get(path, headers=headers)
                elapsed = time.perf_counter() - started
                if answer.status_code != 200:
                    msg = f"{path} answered {answer.status_code}: {answer.text[:200]}"
                    raise RuntimeError(msg)
                if attempt >= 2:  # the first two warm the caches (templates, statements)
                    samples.append(elapsed)
            times[name] = samples
    return times
