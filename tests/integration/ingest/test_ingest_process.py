"""The edge, the control plane and the local stack's one server as processes, and the
edge app's lifespan."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from devstack.ports import free_port
from sandboxes.kit import serve, wait_until
from services.ingest.app import IngestParts, build_app
from services.ingest.settings import IngestSettings
from services.runtime.bus import create_broker
from services.runtime.vault import generate_key_ring_entry
from tests.unit.ingest.ingest_harness import new_vault, open_store

ROOT = Path(__file__).resolve().parents[3]


@asynccontextmanager
async def _running(
    module: str, env: dict[str, str], port: int
) -> AsyncIterator[tuple[httpx.AsyncClient, asyncio.subprocess.Process]]:
    """``python -m <module>`` until the test is done, with a client once it answers."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:

            async def answer() -> httpx.Response | None:
                try:
                    return await client.get("/healthz")
                except httpx.TransportError:
                    return None

            await wait_until(answer, timeout_seconds=60, message=f"{module} to answer")
            yield client, process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _env(kafka_bootstrap: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLC_")},
        "MLC_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "MLC_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'state.db'}",
        "MLC_MASTER_KEYS": generate_key_ring_entry("k1"),
        "MLC_OPERATOR_TOKEN": "process-test-token",
        **extra,
    }


async def _stops_on_sigterm(process: asyncio.subprocess.Process) -> bytes:
    process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal so a supervisor sees it.
    assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGTERM
    assert process.stderr is not None
    stderr = await process.stderr.read()
    assert b"Traceback" not in stderr
    return stderr


OPERATOR = {"Authorization": "Bearer process-test-token"}


async def test_the_edge_process_serves_webhooks_only_and_exits_on_sigterm(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    port = free_port()
    env = _env(kafka_bootstrap, tmp_path, MLC_INGEST_PORT=str(port))
    async with _running("services.ingest", env, port) as (client, process):
        first = await client.post("/webhooks/bamboohr/nobody", content=b"{}")
        health = await client.get("/healthz")
        operator_api = await client.get("/api/v1/connections", headers=OPERATOR)
        callback = await client.get("/oauth/freshbooks/callback?code=x&state=nope")

        assert first.status_code == 404
        assert first.json()["error"] == "unknown_connection"
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "service": "ingest"}
        # The operator API and OAuth consent are the control plane's, not the edge's.
        assert (operator_api.status_code, callback.status_code) == (404, 404)
        assert b"webhook_refused" in await _stops_on_sigterm(process)


async def test_the_control_process_serves_the_operator_api_and_oauth_and_exits_on_sigterm(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    port = free_port()
    env = _env(kafka_bootstrap, tmp_path, MLC_CONTROL_PORT=str(port))
    async with _running("services.control", env, port) as (client, process):
        health = await client.get("/healthz")
        unauthenticated = await client.get("/api/v1/connections")
        connections = await client.get("/api/v1/connections", headers=OPERATOR)
        stray_callback = await client.get("/oauth/freshbooks/callback?code=x&state=nope")
        webhook = await client.post("/webhooks/bamboohr/nobody", content=b"{}")

        assert health.status_code == 200
        assert health.json() == {"status": "ok", "service": "control"}
        assert unauthenticated.status_code == 401
        assert connections.status_code == 200
        assert connections.json()["connections"] == []
        assert stray_callback.status_code == 400
        # Webhooks are the edge's.
        assert webhook.status_code == 404
        await _stops_on_sigterm(process)


async def test_the_local_stacks_one_process_serves_webhooks_operator_api_and_oauth(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    port = free_port()
    env = _env(kafka_bootstrap, tmp_path, MLC_INGEST_PORT=str(port))
    async with _running("devstack.edge_and_control", env, port) as (client, process):
        first = await client.post("/webhooks/bamboohr/nobody", content=b"{}")
        health = await client.get("/healthz")
        unauthenticated = await client.get("/api/v1/connections")
        connections = await client.get("/api/v1/connections", headers=OPERATOR)
        stray_callback = await client.get("/oauth/freshbooks/callback?code=x&state=nope")

        assert unauthenticated.status_code == 401
        assert connections.status_code == 200
        assert connections.json()["connections"] == []
        assert stray_callback.status_code == 400
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "service": "ingest"}
        assert first.status_code == 404
        assert first.json()["error"] == "unknown_connection"
        assert b"webhook_refused" in await _stops_on_sigterm(process)


async def test_background_parts_run_inside_the_apps_lifespan(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def ticker() -> AsyncIterator[None]:
        events.append("started")
        yield
        events.append("stopped")

    store = await open_store(tmp_path)
    settings = IngestSettings(kafka_bootstrap_servers=kafka_bootstrap)
    parts = IngestParts(
        settings=settings, store=store, vault=new_vault(), broker=create_broker(settings)
    )
    try:
        async with serve(build_app(parts, running=[ticker])):
            assert events == ["started"]
        assert events == ["started", "stopped"]
    finally:
        await store.close()
