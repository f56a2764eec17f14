"""Registering a webhook again: ``mlc connections webhooks <id>`` and ``mlc links add``.

Over the BILL sandbox and the real ingest app on real sockets (the registration harness):
a subscription the sandbox refuses (a fault) leaves the connection polled; once the fault
is gone, ``mlc connections webhooks`` subscribes, stores the new key and drops the poll the
failure added, while a poll the operator changed stays. Adding a link retries its
connections' failed registrations and leaves good ones alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mlc.app import app
from sandboxes.bill.app import BillSandbox
from services.bill.ping import BillPing
from services.bill.settings import BillSettings
from services.bill.webhook_registration import BillWebhookRegistrar
from services.control.webhook_registrations import FALLBACK_POLL, REGISTRATION_KEY
from services.runtime.schedule_specs import SCHEDULES_KEY, schedules_of
from tests.integration.ingest.registration_live import (
    OPERATOR,
    Knowledge,
    RegistrationWorld,
    audit_actions,
    registration_world,
)

SUBSCRIBE_FAULT = {"path": "/v3/subscriptions$", "method": "POST", "status": 503, "count": 50}


def bill(base_url: str, _: Mapping[str, Any]) -> Knowledge:
    settings = BillSettings(
        api_base_url=f"{base_url}/connect", events_base_url=f"{base_url}/connect-events"
    )
    return Knowledge(registrar=BillWebhookRegistrar(settings), key_vendor=BillPing(settings))


@pytest.fixture
async def world(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[RegistrationWorld]:
    async with registration_world(
        tmp_path,
        vendor="bill",
        sandbox_app=BillSandbox(),
        knowledge=bill,
        bootstrap=kafka_bootstrap,
        https_public_url=True,  # BILL wants an https notificationUrl
    ) as made:
        yield made


async def _add(world: RegistrationWorld, name: str = "Acme AP") -> tuple[str, dict[str, str]]:
    creds = (await world.sandbox.post("/_sandbox/credentials")).json()
    answer = await world.ingest.post(
        "/api/v1/connections",
        json={"vendor": "bill", "display_name": name, "credentials": creds},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), creds


async def _add_refused(world: RegistrationWorld) -> tuple[str, dict[str, str]]:
    """A connection whose subscription the sandbox refused; the fault is cleared after."""
    await world.sandbox.post("/_sandbox/faults", json=SUBSCRIBE_FAULT)
    connection_id, creds = await _add(world)
    assert (await world.sandbox.delete("/_sandbox/faults")).status_code == 200
    record = await world.connection(connection_id)
    assert record.settings[REGISTRATION_KEY]["state"] == "failed"
    assert {s.name for s in schedules_of(record.settings).schedules} == {"poll", "reconcile"}
    return connection_id, creds


async def _subscriptions(
    world: RegistrationWorld, creds: Mapping[str, str], connection_id: str = ""
) -> list[Any]:
    """The org's subscriptions (``connection_id``: only those pointing at its intake URL)."""
    login = await world.sandbox.post(
        "/connect/v3/login",
        json={
            "username": creds["username"],
            "password": creds["password"],
            "organizationId": creds["organization_id"],
            "devKey": creds["dev_key"],
        },
    )
    headers = {"devKey": creds["dev_key"], "sessionId": login.json()["sessionId"]}
    answer = await world.sandbox.get("/connect-events/v3/subscriptions", headers=headers)
    assert answer.status_code == 200, answer.text
    return [
        s
        for s in answer.json()["results"]
        if not connection_id or s["notificationUrl"].endswith(f"/{connection_id}")
    ]


async def _mlc(world: RegistrationWorld, *args: str) -> Result:
    env = {
        "MLC_OPERATOR_URL": world.ingest_url,
        "MLC_OPERATOR_TOKEN": OPERATOR["Authorization"].removeprefix("Bearer "),
        "MLC_PUBLIC_URL": None,
    }
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def _actions(world: RegistrationWorld, subject: str) -> list[str]:
    return [entry.action for entry in await audit_actions(world.store, subject)]


async def test_mlc_connections_webhooks_registers_after_a_refusal_and_drops_the_fallback_poll(
    world: RegistrationWorld,
) -> None:
    connection_id, creds = await _add_refused(world)
    assert await _subscriptions(world, creds) == []

    result = await _mlc(world, "connections", "webhooks", connection_id)

    assert result.exit_code == 0, result.output
    assert "webhook: registered" in result.output
    assert "polls: none" in result.output
    [subscription] = await _subscriptions(world, creds)
    assert subscription["notificationUrl"] == (
        f"https://hooks.example.test/webhooks/bill/{connection_id}"
    )
    record = await world.connection(connection_id)
    registration = record.settings[REGISTRATION_KEY]
    assert registration["state"] == "registered"
    assert registration["ids"] == [subscription["id"]]
    assert FALLBACK_POLL not in registration
    assert [s.name for s in schedules_of(record.settings).schedules] == ["reconcile"]
    assert f"webhook_secret:{subscription['id']}" in await world.credential_fields(connection_id)
    actions = await _actions(world, connection_id)
    assert actions.count("webhook.registration_failed") == 1
    assert actions.count("webhook.registered") == 1
    assert "connection.webhooks_reregistered" in actions


async def test_a_poll_the_operator_changed_stays_after_registering(
    world: RegistrationWorld,
) -> None:
    connection_id, _ = await _add_refused(world)
    async with world.store.transaction() as tx:
        record = await tx.connections.get(connection_id)
        assert record is not None
        settings = dict(record.settings)
        settings[SCHEDULES_KEY] = [
            {**s, "every_seconds": 60} if s["name"] == "poll" else s
            for s in settings[SCHEDULES_KEY]
        ]
        await tx.connections.update(connection_id, settings=settings)

    answer = await world.ingest.post(f"/api/v1/connections/{connection_id}/webhooks")

    assert answer.status_code == 200, answer.text
    assert answer.json()["webhook"]["state"] == "registered"
    polls = [s for s in answer.json()["schedules"] if s["kind"] == "poll"]
    assert polls == [{"name": "poll", "kind": "poll", "every_seconds": 60}]


async def test_a_still_refused_registration_stays_polled_and_the_command_fails(
    world: RegistrationWorld,
) -> None:
    connection_id, _ = await _add_refused(world)
    await world.sandbox.post("/_sandbox/faults", json=SUBSCRIBE_FAULT)

    result = await _mlc(world, "connections", "webhooks", connection_id)

    assert result.exit_code == 1, result.output
    assert "webhook: failed" in result.output
    record = await world.connection(connection_id)
    assert {s.name for s in schedules_of(record.settings).schedules} == {"poll", "reconcile"}
    assert (await _actions(world, connection_id)).count("webhook.registration_failed") == 2


async def test_registering_again_replaces_the_old_subscription_and_its_key(
    world: RegistrationWorld,
) -> None:
    connection_id, creds = await _add(world)
    [old] = await _subscriptions(world, creds)

    answer = await world.ingest.post(f"/api/v1/connections/{connection_id}/webhooks")

    assert answer.status_code == 200, answer.text
    [new] = await _subscriptions(world, creds)
    assert new["id"] != old["id"]
    fields = await world.credential_fields(connection_id)
    assert f"webhook_secret:{new['id']}" in fields
    assert f"webhook_secret:{old['id']}" not in fields
    assert answer.json()["webhook"]["ids"] == [new["id"]]
    assert "webhook.unregistered" in await _actions(world, connection_id)


async def test_an_old_subscription_that_cannot_be_deleted_is_502_and_nothing_changes(
    world: RegistrationWorld,
) -> None:
    connection_id, creds = await _add(world)
    [old] = await _subscriptions(world, creds)
    await world.sandbox.post(
        "/_sandbox/faults",
        json={"path": "/v3/subscriptions/", "method": "DELETE", "status": 500, "count": 50},
    )

    answer = await world.ingest.post(f"/api/v1/connections/{connection_id}/webhooks")

    assert answer.status_code == 502, answer.text
    assert old["id"] in answer.json()["error"]
    await world.sandbox.delete("/_sandbox/faults")
    assert [s["id"] for s in await _subscriptions(world, creds)] == [old["id"]]
    record = await world.connection(connection_id)
    assert record.settings[REGISTRATION_KEY]["ids"] == [old["id"]]
    assert f"webhook_secret:{old['id']}" in await world.credential_fields(connection_id)
    assert "webhook.unregister_failed" in await _actions(world, connection_id)


async def test_adding_a_link_retries_a_failed_registration_and_leaves_good_ones(
    world: RegistrationWorld,
) -> None:
    failed_id, failed_creds = await _add_refused(world)
    good_id, good_creds = await _add(world, "Acme AP 2")
    [good_subscription] = await _subscriptions(world, good_creds, good_id)

    result = await _mlc(world, "links", "add", good_id, failed_id, "--flow", "ap-bill")

    assert result.exit_code == 0, result.output
    [subscription] = await _subscriptions(world, failed_creds, failed_id)
    record = await world.connection(failed_id)
    assert record.settings[REGISTRATION_KEY]["state"] == "registered"
    assert record.settings[REGISTRATION_KEY]["ids"] == [subscription["id"]]
    assert [s.name for s in schedules_of(record.settings).schedules] == ["reconcile"]
    assert await _subscriptions(world, good_creds, good_id) == [good_subscription]
    assert (await _actions(world, good_id)).count("webhook.registered") == 1
