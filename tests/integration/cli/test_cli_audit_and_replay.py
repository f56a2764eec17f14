"""`mlc audit <vendor>:<id>` and `mlc replay <event id>` against the real broker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from mlc.app import app
from schemas import EmployeeChanged, SyncOutcome
from schemas.outcomes import DeadLetter
from schemas.raw import RawDelivery
from services.runtime import create_broker, publish
from services.runtime.audit_trail import read_events
from services.runtime.publishing import encode_event
from services.runtime.settings import RuntimeSettings

runner = CliRunner()


@dataclass(frozen=True)
class History:
    """One employee's webhook, write, and a later change whose write was dead-lettered."""

    connection_id: str
    employee_id: str
    other_employee_event_id: str
    dead_lettered_event_id: str
    dead_letter_id: str


@pytest.fixture
def cli_env(kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLC_KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("MLC_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    return kafka_bootstrap


def employee(connection_id: str, employee_id: str, department: str) -> EmployeeChanged:
    now = datetime.now(UTC)
    return EmployeeChanged(
        connection_id=connection_id,
        occurred_at=now,
        source_updated_at=now,
        employee_id=employee_id,
        status="active",
        first_name="Grace",
        last_name="Hopper",
        work_email=f"{employee_id}@example.com",
        department=department,
        changed_fields=("department",),
    )


async def publish_history(bootstrap: str) -> History:
    connection_id = f"bhr-{uuid4().hex[:8]}"
    employee_id = str(uuid4().int % 100000)
    settings = RuntimeSettings(kafka_bootstrap_servers=bootstrap, service_name="freshbooks")
    broker = create_broker(settings)
    await broker.connect()
    try:
        now = datetime.now(UTC)
        delivery = await publish(
            broker,
            RawDelivery(
                connection_id=connection_id,
                entity_key="sha256:abc",
                occurred_at=now,
                vendor="bamboohr",
                delivery_id="sha256:abc",
                content_type="application/json",
                body="{}",
            ),
            topic="raw.bamboohr",
        )
        hired = await publish(
            broker, employee(connection_id, employee_id, "Design"), cause=delivery
        )
        other = await publish(broker, employee(connection_id, "other", "Design"), cause=delivery)
        await publish(
            broker,
            SyncOutcome(
                connection_id=connection_id,
                entity_key=employee_id,
                occurred_at=now,
                service="freshbooks",
                status="applied",
                operation="create_staff",
                target_ids={"staff": "777"},
            ),
            cause=hired,
        )
        moved = await publish(broker, employee(connection_id, employee_id, "Engineering"))
        letter = await publish(
            broker,
            DeadLetter(
                connection_id=connection_id,
                entity_key=employee_id,
                occurred_at=now,
                service="freshbooks",
                original_topic="people.employee",
                original_partition=0,
                original_offset=0,
                original_key=moved.key,
                original=encode_event(moved).decode(),
                attempts=5,
                error_type="VendorCallError",
                error="FreshBooks answered 503 three times",
            ),
            cause=moved,
            topic="dlq.freshbooks",
        )
    finally:
        await broker.stop()
    return History(
        connection_id, employee_id, str(other.event_id), str(moved.event_id), str(letter.event_id)
    )


def test_audit_by_employee_shows_webhook_write_with_target_id_and_failure_with_reason(
    cli_env: str,
) -> None:
    history = asyncio.run(publish_history(cli_env))

    result = runner.invoke(app, ["audit", f"bamboohr:{history.employee_id}"])

    assert result.exit_code == 0, result.output
    text = result.output
    assert "chain 1 of 2" in text
    assert "chain 2 of 2" in text
    assert "webhook received from bamboohr" in text
    assert "written by freshbooks: create_staff applied -> staff=777" in text
    assert "dead-lettered by freshbooks after 5 attempts: VendorCallError" in text
    assert f"mlc replay {history.dead_letter_id}" in text
    # The other employee of the same delivery is not this record's history.
    assert history.other_employee_event_id not in text


def test_audit_of_an_employee_nobody_touched_exits_1_and_names_the_topics(cli_env: str) -> None:
    result = runner.invoke(app, ["audit", f"bamboohr:nobody-{uuid4().hex}"])
    assert result.exit_code == 1
    assert "no event about bamboohr:nobody-" in result.output
    assert "raw.bamboohr" in result.output


def test_replay_puts_the_dead_lettered_event_back_once_with_its_key(cli_env: str) -> None:
    history = asyncio.run(publish_history(cli_env))

    first = runner.invoke(app, ["replay", history.dead_lettered_event_id])
    again = runner.invoke(app, ["replay", history.dead_letter_id])

    assert first.exit_code == 0, first.output
    assert "to people.employee" in first.output
    assert again.exit_code == 2
    assert "already replayed" in again.output
    key = f"{history.connection_id}:{history.employee_id}"
    replays = asyncio.run(
        read_events(
            cli_env,
            topics=["people.employee"],
            keep=lambda logged: (
                logged.key == key and logged.event.get("causation_id") == history.dead_letter_id
            ),
        )
    )
    assert len(replays) == 1
    replayed = replays[0].event
    assert replayed["department"] == "Engineering"
    assert replayed["event_id"] != history.dead_lettered_event_id
    audit = runner.invoke(app, ["audit", f"bamboohr:{history.employee_id}"])
    assert "replayed from its dead letter" in audit.output


def test_replay_of_an_unknown_event_id_exits_2_with_a_message(cli_env: str) -> None:
    result = runner.invoke(app, ["replay", str(uuid4())])
    assert result.exit_code == 2
    assert "no dead letter for event id" in result.output
    assert "dlq.freshbooks" in result.output
