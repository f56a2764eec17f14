"""`python -m services.bamboohr` as a process: starts, consumes raw.bamboohr, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.kit import build_app, serve, wait_until
from schemas.envelope import utcnow
from schemas.people import DepartmentChanged, EmployeeChanged
from schemas.raw import ReconcileTick
from schemas.topics import raw_topic
from services.bamboohr.settings import BambooHRServiceSettings
from services.runtime.audit_trail import read_chain
from services.runtime.bus import create_broker
from services.runtime.publishing import publish
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry

ROOT = Path(__file__).resolve().parents[3]


async def test_the_service_process_backfills_a_connection_and_exits_cleanly_on_sigterm(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    key_ring = generate_key_ring_entry("k1")
    vault = Vault.from_text(key_ring)
    async with (
        serve(build_app(BambooHRSandbox())) as server,
        httpx.AsyncClient(base_url=server.base_url) as control,
    ):
        creds = (await control.post("/_sandbox/credentials")).json()
        store = await StateStore.open(database_url)
        try:
            async with store.transaction() as repos:
                record = await repos.connections.create(
                    vendor="bamboohr",
                    tenant_id="default",
                    display_name="Acme",
                    settings={"credential_style": "api_key", "company_domain": "acme"},
                )
                token = vault.encrypt(creds["api_key"], connection_id=record.id, field="api_key")
                await repos.credentials.put(
                    record.id, "api_key", token=token, key_id=vault.active_key_id
                )
        finally:
            await store.close()

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MLC_")},
            "MLC_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "MLC_DATABASE_URL": database_url,
            "MLC_MASTER_KEYS": key_ring,
            "MLC_BAMBOOHR_COMPANY_URL_TEMPLATE": f"{server.base_url}/{{subdomain}}.bamboohr.com",
        }
        # A file, not a pipe: a full pipe nobody reads would stall the service's logging.
        log_path = tmp_path / "bamboohr.log"
        log_file = log_path.open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.bamboohr", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
        )  # fmt: skip
        producer = create_broker(BambooHRServiceSettings(kafka_bootstrap_servers=kafka_bootstrap))
        await producer.start()
        try:
            due = utcnow().isoformat()
            tick = await publish(
                producer,
                ReconcileTick(
                    connection_id=record.id,
                    occurred_at=utcnow(),
                    entity_key=f"reconcile:{due}",
                    vendor="bamboohr",
                    schedule="reconcile",
                    due_at=due,
                ),
                topic=raw_topic("bamboohr"),
            )
            topics = [EmployeeChanged.topic_name, DepartmentChanged.topic_name]

            async def backfilled() -> list[dict[str, object]] | None:
                chain = await read_chain(kafka_bootstrap, str(tick.event_id), topics=topics)
                people = [e.event for e in chain if e.event["type"] == "EmployeeChanged"]
                return people if len(people) >= 40 else None

            people = await wait_until(
                backfilled, timeout_seconds=90, message="the seed on people.employee"
            )
            assert {p["connection_id"] for p in people} == {record.id}
            assert all(p["causation_id"] == str(tick.event_id) for p in people)

            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
            stderr = log_path.read_bytes()
            assert b"service.started" in stderr
            assert b"service.stopped" in stderr
        finally:
            await producer.stop()
            if process.returncode is None:
                process.kill()
                await process.wait()
            log_file.close()
