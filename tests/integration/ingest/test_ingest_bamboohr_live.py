"""The BambooHR sandbox fires its own signed webhooks at the running ingest service.

Real sockets all the way: the sandbox and the ingest service each run under uvicorn on
a free port, the delivery is published to ``raw.bamboohr`` in the real Kafka, and the
tests read it back from there. With Kafka stopped (a private broker), the webhook gets
503 and the sandbox's own retry later lands exactly once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.seed import ADMIN_API_KEY
from sandboxes.kit import build_app, serve, wait_until
from schemas.envelope import utcnow
from services.ingest.webhooks import SECRET_FIELD
from services.runtime.store import StateStore
from services.runtime.vault import Vault
from tests.integration.ingest.ingest_live import PrivateKafka, raw_deliveries, running_ingest
from tests.unit.ingest.ingest_harness import add_connection, new_vault, open_store, refusals

GATEWAY = "/api/gateway.php/acme/v1"
ADMIN = httpx.BasicAuth(ADMIN_API_KEY, "x")
EMPLOYEE = "108"  # in the sandbox's default seed
TOPIC = "raw.bamboohr"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await open_store(tmp_path)
    yield opened
    await opened.close()


@pytest.fixture
def vault() -> Vault:
    return new_vault()


@pytest.fixture
async def sandbox() -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve(build_app(BambooHRSandbox())) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as client,
    ):
        yield client


async def _connect(
    sandbox: httpx.AsyncClient, store: StateStore, vault: Vault, ingest_url: str
) -> str:
    """Register a webhook at the sandbox, keep its privateKey as the connection's secret."""
    connection_id = f"hr-{uuid.uuid4().hex[:10]}"
    registration = {
        "name": "ml-connector people",
        "url": f"https://hooks.example.com/webhooks/bamboohr/{connection_id}",
        "format": "json",
        "events": ["employee.created", "employee.updated", "employee.deleted"],
        "monitorFields": ["department", "jobTitle"],
    }
    answer = await sandbox.post(f"{GATEWAY}/webhooks", json=registration, auth=ADMIN)
    assert answer.status_code == 201, answer.text
    secret = answer.json()["privateKey"]
    await add_connection(
        store, vault, vendor="bamboohr", connection_id=connection_id,
        secrets={SECRET_FIELD: secret},
    )  # fmt: skip
    # The registered URL must be https; the sandbox sends to the local service instead.
    target = f"{ingest_url}/webhooks/bamboohr/{connection_id}"
    await sandbox.post("/_sandbox/webhooks", json={"url": target})
    return connection_id


async def _change_department(sandbox: httpx.AsyncClient, department: str) -> None:
    answer = await sandbox.post(
        "/_sandbox/actions/change_department",
        json={"employeeId": EMPLOYEE, "department": department},
    )
    assert answer.status_code == 200, answer.text


async def _attempts(sandbox: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    async def done() -> list[dict[str, Any]] | None:
        state = (await sandbox.get("/_sandbox/webhooks")).json()
        records: list[dict[str, Any]] = state["deliveries"]
        finished = [r for r in records if r["status"] is not None or r["outcome"] != "delivered"]
        return records if len(finished) >= count else None

    return await wait_until(done, timeout_seconds=30, message=f"{count} delivery attempts")


async def test_a_sandbox_webhook_lands_on_raw_bamboohr_with_its_envelope_filled(
    kafka_bootstrap: str, sandbox: httpx.AsyncClient, store: StateStore, vault: Vault
) -> None:
    async with running_ingest(bootstrap=kafka_bootstrap, store=store, vault=vault) as ingest:
        connection_id = await _connect(sandbox, store, vault, ingest.base_url)
        await _change_department(sandbox, "Strategy")
        [attempt] = await _attempts(sandbox, 1)
        assert attempt["status"] == 200
        [event] = await raw_deliveries(kafka_bootstrap, TOPIC, connection_id)
        assert event["type"] == "RawDelivery"
        assert event["vendor"] == "bamboohr"
        assert event["tenant_id"] == "acme"
        assert event["body"] == attempt["body"]
        assert json.loads(event["body"])["data"]["changedFields"] == ["department"]
        assert event["delivery_id"].startswith("sha256:")
        assert event["_key"] == f"{connection_id}:{event['delivery_id']}"
        assert event["event_id"]
        assert event["correlation_id"] == event["event_id"]
        assert datetime.fromisoformat(event["recorded_at"]) >= datetime.fromisoformat(
            event["occurred_at"]
        )
        assert (
            event["headers"]["x-bamboohr-timestamp"] == attempt["headers"]["X-BambooHR-Timestamp"]
        )
        assert "x-bamboohr-signature" not in event["headers"]

        url = f"{ingest.base_url}/webhooks/bamboohr/{connection_id}"
        body = attempt["body"].encode()
        tampered = body.replace(b'"department"', b'"departmenu"')
        assert tampered != body
        async with httpx.AsyncClient(timeout=10) as vendor:
            forged = await vendor.post(url, content=tampered, headers=attempt["headers"])
            replayed = await vendor.post(url, content=body, headers=attempt["headers"])
        assert forged.status_code == 401
        assert forged.json()["error"] == "bad_signature"
        assert replayed.status_code == 200
        assert replayed.json()["status"] == "duplicate"
        assert len(await raw_deliveries(kafka_bootstrap, TOPIC, connection_id)) == 1
        [refusal] = await refusals(store)
        assert refusal.detail["reason"] == "bad_signature"


async def test_a_stale_sandbox_webhook_is_refused_and_not_published(
    kafka_bootstrap: str, sandbox: httpx.AsyncClient, store: StateStore, vault: Vault
) -> None:
    # Past BambooHR's window (MLC_BAMBOOHR_WEBHOOK_REPLAY_WINDOW_SECONDS, 3 h), which
    # outlasts its retries; 10 minutes late is a retry we accept (test_bamboohr_retry_window).
    def four_hours_ahead() -> datetime:
        return utcnow() + timedelta(hours=4)

    async with running_ingest(
        bootstrap=kafka_bootstrap, store=store, vault=vault, clock=four_hours_ahead
    ) as ingest:
        connection_id = await _connect(sandbox, store, vault, ingest.base_url)
        await _change_department(sandbox, "Operations")
        [attempt] = await _attempts(sandbox, 1)
    assert attempt["status"] == 401
    [refusal] = await refusals(store)
    assert refusal.detail["reason"] == "stale_timestamp"
    assert refusal.detail["status"] == 401
    assert await raw_deliveries(kafka_bootstrap, TOPIC, connection_id) == []


@pytest.mark.kafka  # a broker of its own (PrivateKafka), which it stops and starts
async def test_with_kafka_stopped_the_webhook_gets_503_and_the_retry_lands_exactly_once(
    tmp_path: Path, sandbox: httpx.AsyncClient, store: StateStore, vault: Vault
) -> None:
    kafka = PrivateKafka(tmp_path / "kafka")
    await kafka.start()
    try:
        async with running_ingest(
            bootstrap=kafka.bootstrap,
            store=store,
            vault=vault,
            webhook_publish_timeout_seconds=2.0,
        ) as ingest:
            connection_id = await _connect(sandbox, store, vault, ingest.base_url)
            async with httpx.AsyncClient(base_url=ingest.base_url) as probe:
                assert (await probe.get("/healthz")).status_code == 200
                await kafka.stop()
                # Not ready while Kafka is gone (the answer is cached for a second at most).
                await wait_until(
                    lambda: _health(probe, 503), timeout_seconds=30, message="healthz to say 503"
                )
                await _change_department(sandbox, "Operations")
                [refused] = await _attempts(sandbox, 1)
                assert refused["status"] == 503
                await kafka.start()
                await wait_until(
                    lambda: _health(probe, 200), timeout_seconds=90, message="healthz to say 200"
                )
            # The publish that outlived the 503 ends (acked or failed) before the retry.
            await wait_until(
                lambda: ingest.intake.in_flight == 0,
                timeout_seconds=90,
                message="the first publish to end",
            )
            await sandbox.post("/_sandbox/clock", json={"advance_seconds": 300})
            records = await _attempts(sandbox, 2)
            assert [r["status"] for r in records] == [503, 200]
            events = await raw_deliveries(kafka.bootstrap, TOPIC, connection_id)
            assert len(events) == 1
            assert events[0]["body"] == refused["body"]
    finally:
        await kafka.stop()


async def _health(probe: httpx.AsyncClient, status: int) -> bool:
    answer = await probe.get("/healthz")
    return answer.status_code == status
