"""`mlc topics ensure` and `mlc audit` against the real broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from mlc.app import app
from schemas import SyncOutcome
from services.runtime import create_broker, publish
from services.runtime.settings import RuntimeSettings

runner = CliRunner()


@pytest.fixture
def kafka_env(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLC_KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    return kafka_bootstrap


def test_topics_ensure_is_idempotent_on_a_broker_that_has_the_catalog(kafka_env: str) -> None:
    result = runner.invoke(app, ["topics", "ensure"])
    assert result.exit_code == 0, result.output
    assert "0 topics created" in result.output


def test_audit_names_the_chain_it_could_not_find(kafka_env: str) -> None:
    result = runner.invoke(app, ["audit", "00000000-0000-0000-0000-000000000000"])
    assert result.exit_code == 1
    assert "no event with correlation id" in result.output


def test_audit_prints_an_outcome_under_the_event_that_caused_it(kafka_env: str) -> None:
    async def publish_chain() -> str:
        settings = RuntimeSettings(kafka_bootstrap_servers=kafka_env, service_name="ingest")
        broker = create_broker(settings)
        await broker.connect()
        try:
            now = datetime.now(UTC)
            root = await publish(
                broker,
                SyncOutcome(
                    connection_id="cli-test",
                    entity_key="root",
                    occurred_at=now,
                    service="ingest",
                    status="failed",
                    operation="probe",
                ),
            )
            await publish(
                broker,
                SyncOutcome(
                    connection_id="cli-test",
                    entity_key="root",
                    occurred_at=now,
                    service="ingest",
                    status="applied",
                    operation="probe-retry",
                ),
                cause=root,
            )
            return str(root.event_id)
        finally:
            await broker.stop()

    correlation_id = asyncio.run(publish_chain())
    result = runner.invoke(app, ["audit", correlation_id])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("- SyncOutcome")
    assert "status=failed" in lines[0]
    assert lines[1].startswith("  - SyncOutcome")
    assert "status=applied" in lines[1]


def test_an_unreachable_broker_is_named_with_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    result = runner.invoke(app, ["topics", "ensure"])
    assert result.exit_code == 1
    assert "MLC_KAFKA_BOOTSTRAP_SERVERS" in result.output
