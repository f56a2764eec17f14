"""`python -m services.freshbooks` as a real process: it consumes, stops on SIGTERM, and after
SIGKILL mid-batch a restart loses nothing and invites nobody twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker

from sandboxes.kit import wait_until
from schemas.people import EmployeeChanged
from tests.integration.freshbooks.fb_sink_harness import SinkWorld, employee, send, sink_world

ROOT = Path(__file__).resolve().parents[3]
INVITATION = "/auth/api/v1/users/invitation"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SinkWorld]:
    async with sink_world(tmp_path) as made:
        yield made


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
    broker = KafkaBroker(kafka_bootstrap)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def service_env(world: SinkWorld, kafka_bootstrap: str) -> dict[str, str]:
    s = world.settings
    return {
        **os.environ,
        "MLC_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "MLC_DATABASE_URL": world.database_url,
        "MLC_MASTER_KEYS": world.key_ring,
        "MLC_HANDLER_MAX_ATTEMPTS": "8",
        # A killed holder's lease blocks its record this long: keep the restart quick.
        "MLC_FRESHBOOKS_PERSON_LEASE_SECONDS": "3",
        "MLC_FRESHBOOKS_API_BASE_URL": s.api_base_url,
        "MLC_FRESHBOOKS_AUTH_BASE_URL": s.auth_base_url,
        "MLC_FRESHBOOKS_CLIENT_ID": s.client_id,
        "MLC_FRESHBOOKS_CLIENT_SECRET": s.client_secret.get_secret_value(),
        "MLC_FRESHBOOKS_REDIRECT_URI": s.redirect_uri,
    }


@contextmanager
def service_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.freshbooks"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def hires(world: SinkWorld, prefix: str, count: int) -> list[EmployeeChanged]:
    return [employee(world, f"{prefix}{n:02d}") for n in range(count)]


async def test_the_service_process_consumes_and_stops_on_sigterm(
    world: SinkWorld, kafka_bootstrap: str, producer: KafkaBroker, tmp_path: Path
) -> None:
    log = tmp_path / "service.log"
    with service_process(service_env(world, kafka_bootstrap), log) as process:
        hired = employee(world, "401")
        await send(producer, hired, topic=EmployeeChanged.topic_name)

        await wait_until(
            lambda: world.members_with_email("maya.401@acmecreative.example"),
            timeout_seconds=90,
            message="the hire reached FreshBooks",
            details=lambda: log.read_text(errors="replace")[-2000:],
        )
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 60)
    assert code == 0, log.read_text(errors="replace")[-2000:]
    assert "service.stopped" in log.read_text(errors="replace")


async def test_sigkill_mid_batch_then_restart_loses_nothing_and_invites_nobody_twice(
    world: SinkWorld, kafka_bootstrap: str, producer: KafkaBroker, tmp_path: Path
) -> None:
    batch = hires(world, "5", 8)
    emails = [str(e.work_email) for e in batch]
    # Slow FreshBooks down so the kill lands with the batch half done.
    await world.sandbox.post(
        "/_sandbox/faults",
        json={"path": "/team_members", "status": 0, "delay_ms": 250, "count": 1000},
    )
    env = service_env(world, kafka_bootstrap)
    log = tmp_path / "service.log"

    async def invited() -> int:
        found = [m for m in await world.state("team_members") if m["email"] in emails]
        return len(found)

    with service_process(env, log) as first:
        for hired in batch:
            await send(producer, hired, topic=EmployeeChanged.topic_name)
        await wait_until(
            lambda: _at_least(invited, 2),
            timeout_seconds=90,
            message="part of the batch reached FreshBooks",
            details=lambda: log.read_text(errors="replace")[-2000:],
        )
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 30)
    done_before_restart = await invited()
    assert done_before_restart < len(batch), "the kill came too late to test anything"

    with service_process(env, log) as second:
        await wait_until(
            lambda: _at_least(invited, len(batch)),
            timeout_seconds=120,
            message="the whole batch reached FreshBooks after the restart",
            details=lambda: log.read_text(errors="replace")[-2000:],
        )
        second.send_signal(signal.SIGTERM)
        await asyncio.to_thread(second.wait, 60)

    for email in emails:
        assert len(await world.members_with_email(email)) == 1
    posts = [r for r in await world.requests() if r["method"] == "POST" and r["path"] == INVITATION]
    assert len(posts) == len(batch)


async def _at_least(count: object, wanted: int) -> bool:
    assert callable(count)
    return int(await count()) >= wanted
