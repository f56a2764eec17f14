"""The service as a process (`python -m services.ingest`) and the app's lifespan."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from sandboxes.kit import serve, wait_until
from services.ingest.app import IngestParts, build_app
from services.ingest.settings import IngestSettings
from services.runtime.bus import create_broker
from services.runtime.vault import generate_key_ring_entry
from tests.unit.ingest.ingest_harness import new_vault, open_store

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_service_process_serves_webhooks_operator_api_and_oauth_and_exits_on_sigterm(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLC_")},
        "MLC_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "MLC_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'state.db'}",
        "MLC_MASTER_KEYS": generate_key_ring_entry("k1"),
        "MLC_INGEST_PORT": str(port),
        "MLC_OPERATOR_TOKEN": "process-test-token",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.ingest", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:

            async def answer() -> httpx.Response | None:
                try:
                    return await client.post("/webhooks/bamboohr/nobody", content=b"{}")
                except httpx.TransportError:
                    return None

            first: httpx.Response = await wait_until(
                answer, timeout_seconds=60, message="the service to answer"
            )
            health = await client.get("/healthz")
            unauthenticated = await client.get("/api/v1/connections")
            operator = {"Authorization": "Bearer process-test-token"}
            connections = await client.get("/api/v1/connections", headers=operator)
            stray_callback = await client.get("/oauth/freshbooks/callback?code=x&state=nope")
        # The operator API and the OAuth consent routes are served by the real process.
        assert unauthenticated.status_code == 401
        assert connections.status_code == 200
        assert connections.json()["connections"] == []
        assert stray_callback.status_code == 400
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "service": "ingest"}
        assert first.status_code == 404
        assert first.json()["error"] == "unknown_connection"
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so a supervisor sees it.
        assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGTERM
        assert process.stderr is not None
        stderr = await process.stderr.read()
        assert b"webhook_refused" in stderr
        assert b"Traceback" not in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


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
