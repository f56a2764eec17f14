"""``mlc connections sync <id>``: a ReconcileTick for that connection on the real Kafka, now.

The CLI talks to the running ingest (real socket); the tick is read back from
``raw.bamboohr``; the request is audited. The connection is added with ``--set
webhooks=off`` through the CLI too, which also shows that option reaching its settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mlc.app import app
from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.seed import ADMIN_API_KEY
from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.webhook_registration import BambooHRWebhookRegistrar
from services.control.webhook_registrations import REGISTRATION_KEY
from tests.integration.ingest.ingest_live import raw_deliveries
from tests.integration.ingest.registration_live import (
    TOKEN,
    Knowledge,
    RegistrationWorld,
    audit_actions,
    registration_world,
)


def bamboohr(base_url: str, _: Mapping[str, Any]) -> Knowledge:
    settings = BambooHRSettings(company_url_template=f"{base_url}/{{subdomain}}.bamboohr.com")
    return Knowledge(
        registrar=BambooHRWebhookRegistrar(settings), key_vendor=BambooHRAuth(settings)
    )


@pytest.fixture
async def world(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[RegistrationWorld]:
    async with registration_world(
        tmp_path,
        vendor="bamboohr",
        sandbox_app=BambooHRSandbox(),
        knowledge=bamboohr,
        bootstrap=kafka_bootstrap,
        https_public_url=True,
    ) as made:
        yield made


async def _mlc(world: RegistrationWorld, *args: str, stdin: str | None = None) -> Result:
    env = {"MLC_OPERATOR_URL": world.ingest_url, "MLC_OPERATOR_TOKEN": TOKEN}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=stdin, env=env)


async def _add_bamboohr(world: RegistrationWorld) -> str:
    added = await _mlc(
        world,
        "connections",
        "add",
        "bamboohr",
        "--set",
        "company_domain=acme",
        "--set",
        "webhooks=off",
        "--json",
        stdin=f"{ADMIN_API_KEY}\n",
    )
    assert added.exit_code == 0, added.output
    return next(
        line.split('"')[3] for line in added.output.splitlines() if line.strip().startswith('"id"')
    )


async def test_sync_publishes_a_reconcile_tick_for_the_connection_and_audits_it(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    connection_id = await _add_bamboohr(world)
    record = await world.connection(connection_id)
    assert record.settings["webhooks"] == "off"
    assert record.settings[REGISTRATION_KEY]["state"] == "off"
    shown = await _mlc(world, "connections", "show", connection_id)
    assert shown.exit_code == 0, shown.output
    assert "webhook: off (webhooks are turned off for this connection" in shown.output
    assert "schedule: poll every 300s" in shown.output
    assert "schedule: reconcile every 86400s" in shown.output

    synced = await _mlc(world, "connections", "sync", connection_id)

    assert synced.exit_code == 0, synced.output
    assert "on raw.bamboohr" in synced.output
    [tick] = await raw_deliveries(kafka_bootstrap, "raw.bamboohr", connection_id)
    assert tick["type"] == "ReconcileTick"
    assert tick["schedule"] == "manual"
    assert tick["vendor"] == "bamboohr"
    assert tick["event_id"] in synced.output
    [entry] = [
        e
        for e in await audit_actions(world.store, connection_id)
        if e.action == "connection.sync_requested"
    ]
    assert entry.detail["event_id"] == tick["event_id"]


async def test_sync_of_an_unknown_connection_fails_and_publishes_nothing(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    synced = await _mlc(world, "connections", "sync", "no-such-connection")

    assert synced.exit_code == 1
    assert "no connection 'no-such-connection' (HTTP 404)" in synced.output
    assert await raw_deliveries(kafka_bootstrap, "raw.bamboohr", "no-such-connection") == []


async def test_a_new_link_asks_its_source_for_a_full_resend(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    source, target = await _add_bamboohr(world), await _add_bamboohr(world)

    linked = await _mlc(world, "links", "add", source, target, "--flow", "people-freshbooks")

    assert linked.exit_code == 0, linked.output
    [tick] = await raw_deliveries(kafka_bootstrap, "raw.bamboohr", source)
    assert (tick["type"], tick["schedule"], tick["full"]) == ("ReconcileTick", "link-added", True)
    assert f"backfill requested: tick {tick['event_id']} on raw.bamboohr" in linked.output
    # Only the source is asked: the target's records do not flow anywhere in this link.
    assert await raw_deliveries(kafka_bootstrap, "raw.bamboohr", target) == []


async def test_sync_full_asks_for_every_record(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    connection_id = await _add_bamboohr(world)

    synced = await _mlc(world, "connections", "sync", connection_id, "--full")

    assert synced.exit_code == 0, synced.output
    assert synced.output.startswith("full resend requested")
    [tick] = await raw_deliveries(kafka_bootstrap, "raw.bamboohr", connection_id)
    assert (tick["schedule"], tick["full"]) == ("manual", True)
