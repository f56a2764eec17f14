"""BILL webhook subscriptions created by ingest itself, over real sockets and the real Kafka.

Adding a BILL connection logs in and creates a subscription at the sandbox pointing at
``$MLC_PUBLIC_URL/webhooks/bill/<id>``; its one-time securityKey, stored encrypted, verifies
the sandbox's next notification through the running intake. Removing the connection deletes
the subscription; a refused subscription leaves a poll schedule and an audit entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from sandboxes.bill.app import BillSandbox
from sandboxes.kit import wait_until
from services.bill.ping import BillPing
from services.bill.settings import BillSettings
from services.bill.webhook_registration import BillWebhookRegistrar
from services.control.webhook_registrations import REGISTRATION_KEY
from services.runtime.schedule_specs import schedules_of
from tests.integration.ingest.ingest_live import raw_deliveries
from tests.integration.ingest.registration_live import (
    Knowledge,
    RegistrationWorld,
    audit_actions,
    registration_world,
)


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


async def _add(world: RegistrationWorld) -> tuple[str, dict[str, str]]:
    creds = (await world.sandbox.post("/_sandbox/credentials")).json()
    answer = await world.ingest.post(
        "/api/v1/connections",
        json={"vendor": "bill", "display_name": "Acme AP", "credentials": creds},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), creds


async def _subscriptions(world: RegistrationWorld, creds: Mapping[str, str]) -> list[Any]:
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
    return list(answer.json()["results"])


async def test_adding_a_connection_subscribes_and_the_key_verifies_notifications(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    connection_id, creds = await _add(world)

    url = f"https://hooks.example.test/webhooks/bill/{connection_id}"
    [subscription] = await _subscriptions(world, creds)
    assert subscription["notificationUrl"] == url
    assert {e["type"] for e in subscription["events"]} >= {"payment.updated"}
    record = await world.connection(connection_id)
    assert record.settings[REGISTRATION_KEY]["ids"] == [subscription["id"]]
    assert f"webhook_secret:{subscription['id']}" in await world.credential_fields(connection_id)
    assert [s.name for s in schedules_of(record.settings).schedules] == ["reconcile"]

    local = f"{world.ingest_url}/webhooks/bill/{connection_id}"
    await world.sandbox.post("/_sandbox/webhooks", json={"url": local})
    bill = (await world.sandbox.get("/_sandbox/state/bills")).json()[0]  # a seeded bill
    paid = await world.sandbox.post(
        "/_sandbox/actions/pay_bill", json={"bill_id": bill["id"], "amount": 12.5}
    )
    assert paid.status_code == 200, paid.text

    async def published() -> list[dict[str, Any]] | None:
        return await raw_deliveries(kafka_bootstrap, "raw.bill", connection_id) or None

    [event, *_] = await wait_until(published, timeout_seconds=30, message="raw.bill delivery")
    assert event["vendor"] == "bill"
    assert '"eventType":"payment.updated"' in event["body"].replace(" ", "")


async def test_removing_the_connection_deletes_the_subscription(world: RegistrationWorld) -> None:
    connection_id, creds = await _add(world)
    assert len(await _subscriptions(world, creds)) == 1

    removed = await world.ingest.delete(f"/api/v1/connections/{connection_id}")

    assert removed.status_code == 204, removed.text
    assert await _subscriptions(world, creds) == []
    actions = [e.action for e in await audit_actions(world.store, connection_id)]
    assert "webhook.unregistered" in actions


async def test_a_refused_subscription_stores_a_poll_schedule_and_an_audit_entry(
    world: RegistrationWorld,
) -> None:
    await world.sandbox.post(
        "/_sandbox/faults",
        json={"path": "/v3/subscriptions$", "method": "POST", "status": 503, "count": 20},
    )

    connection_id, _ = await _add(world)

    record = await world.connection(connection_id)
    assert record.status == "active"
    assert record.settings[REGISTRATION_KEY]["state"] == "failed"
    assert {s.name for s in schedules_of(record.settings).schedules} == {"poll", "reconcile"}
    failures = [
        e
        for e in await audit_actions(world.store, connection_id)
        if e.action == "webhook.registration_failed"
    ]
    assert len(failures) == 1
    assert "503" in failures[0].detail["reason"]
