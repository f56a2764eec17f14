"""``mlc status`` with the log's figures: lag since the last sync outcome, failed outcomes,
dead letters, read from the real Kafka next to the store's audit entries.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mlc.app import app
from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.seed import ADMIN_API_KEY
from schemas.envelope import utcnow
from schemas.outcomes import DeadLetter, SyncOutcome
from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.settings import BambooHRSettings
from services.ingest.settings import IngestSettings
from services.runtime.bus import create_broker
from services.runtime.publishing import publish
from services.runtime.vendor_quota import VendorQuota, record_quota
from tests.integration.ingest.registration_live import (
    TOKEN,
    Knowledge,
    RegistrationWorld,
    registration_world,
)

AHEAD = timedelta(hours=2)  # the status clock runs this far past the outcomes' recording


def bamboohr(base_url: str, _: Mapping[str, Any]) -> Knowledge:
    settings = BambooHRSettings(company_url_template=f"{base_url}/{{subdomain}}.bamboohr.com")
    return Knowledge(key_vendor=BambooHRAuth(settings))


@pytest.fixture
async def world(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[RegistrationWorld]:
    async with registration_world(
        tmp_path,
        vendor="bamboohr",
        sandbox_app=BambooHRSandbox(),
        knowledge=bamboohr,
        bootstrap=kafka_bootstrap,
        clock=lambda: utcnow() + AHEAD,
    ) as made:
        yield made


async def _mlc(world: RegistrationWorld, *args: str) -> Result:
    env = {"MLC_OPERATOR_URL": world.ingest_url, "MLC_OPERATOR_TOKEN": TOKEN}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def _link(world: RegistrationWorld) -> tuple[str, str, str]:
    """A BambooHR source linked to a second BambooHR account standing in as the target."""
    ids = []
    for name in ("source", "target"):
        answer = await world.ingest.post(
            "/api/v1/connections",
            json={
                "vendor": "bamboohr",
                "display_name": name,
                "credentials": {"api_key": ADMIN_API_KEY, "company_domain": "acme"},
            },
        )
        assert answer.status_code == 201, answer.text
        ids.append(str(answer.json()["id"]))
    link = await world.ingest.post(
        "/api/v1/links",
        json={
            "source_connection_id": ids[0],
            "target_connection_id": ids[1],
            "flow": "people-freshbooks",
        },
    )
    assert link.status_code == 201, link.text
    return str(link.json()["id"]), ids[0], ids[1]


async def test_status_shows_lag_failed_outcomes_and_dead_letters_from_the_log(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    link_id, _source, target = await _link(world)
    broker = create_broker(IngestSettings(kafka_bootstrap_servers=kafka_bootstrap))
    await broker.start()
    try:
        for status in ("applied", "failed", "failed"):
            await publish(
                broker,
                SyncOutcome(
                    connection_id=target,
                    occurred_at=utcnow(),
                    entity_key="staff-1",
                    service="freshbooks",
                    link_id=link_id,
                    target_connection_id=target,
                    status=status,
                    operation="update_staff",
                ),
            )
        await publish(
            broker,
            DeadLetter(
                connection_id=target,
                occurred_at=utcnow(),
                entity_key="staff-1",
                service="freshbooks",
                original_topic="people.employee",
                original_partition=0,
                original_offset=7,
                original="{}",
                attempts=5,
                error_type="VendorCallError",
                error="FreshBooks answered HTTP 500",
            ),
            topic="dlq.freshbooks",
        )
    finally:
        await broker.stop()

    shown = await _mlc(world, "status", "--json")

    assert shown.exit_code == 0, shown.output
    [status] = json.loads(shown.output)["links"]
    assert status["link"]["id"] == link_id
    assert status["last_outcome_status"] == "failed"
    assert status["outcome_failures"] == 2
    assert status["dead_letters"] == 1
    assert status["lag_seconds"] >= AHEAD.total_seconds()
    assert status["log_error"] is None

    table = await _mlc(world, "status")
    assert table.exit_code == 0, table.output
    header, rule, row = table.output.splitlines()[:3]
    assert header.split()[-5:] == ["LAG", "REFUSED", "FAILED", "DLQ", "QUOTA"]
    assert set(rule) == {"─"}
    lag, refused, failed, dead, quota = row.split()[-5:]
    assert lag.startswith("2h")
    assert (refused, failed, dead, quota) == ("0", "2", "1", "-")


async def test_a_link_without_outcomes_has_no_lag_and_no_failures(
    world: RegistrationWorld,
) -> None:
    link_id, _, _ = await _link(world)

    shown = await _mlc(world, "status", "--json")

    [status] = json.loads(shown.output)["links"]
    assert status["link"]["id"] == link_id
    assert status["lag_seconds"] is None
    assert (status["outcome_failures"], status["dead_letters"]) == (0, 0)


async def test_status_shows_the_target_vendors_daily_quota_as_its_service_last_saw_it(
    world: RegistrationWorld,
) -> None:
    link_id, _, target = await _link(world)
    seen = utcnow()
    async with world.store.transaction() as tx:
        await record_quota(
            tx,
            target,
            VendorQuota(
                limit=1000,
                remaining=705,
                resets_at=datetime(2026, 12, 5, 2, 40, tzinfo=UTC),
                observed_at=seen,
            ),
        )

    shown = await _mlc(world, "status", "--json")
    table = await _mlc(world, "status")

    [status] = json.loads(shown.output)["links"]
    assert status["link"]["id"] == link_id
    assert status["target_quota"]["limit"] == 1000
    assert status["target_quota"]["remaining"] == 705
    assert datetime.fromisoformat(status["target_quota"]["resets_at"]) == datetime(
        2026, 12, 5, 2, 40, tzinfo=UTC
    )
    assert table.exit_code == 0, table.output
    assert "705/1000 left, resets 02:40Z" in table.output
