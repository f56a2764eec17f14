"""BambooHR webhooks registered by ingest itself, over real sockets and the real Kafka.

Adding an API-key connection through the operator API registers a webhook at the BambooHR
sandbox pointing at ``$MLC_PUBLIC_URL/webhooks/bamboohr/<id>``; the privateKey it hands back
is stored encrypted and verifies the sandbox's next signed delivery through the running
intake. Removing the connection removes the webhook. A refused registration leaves the
connection active with a poll schedule and an audit entry; so does ``webhooks=off``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from pydantic import SecretStr

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.seed import ADMIN_API_KEY
from sandboxes.kit import wait_until
from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.webhook_registration import BambooHRWebhookRegistrar
from services.control.connections import MASK
from services.control.webhook_registrations import REGISTRATION_KEY
from services.runtime.schedule_specs import schedules_of
from tests.integration.ingest.ingest_live import raw_deliveries
from tests.integration.ingest.registration_live import (
    Knowledge,
    RegistrationWorld,
    audit_actions,
    registration_world,
)

GATEWAY = "/api/gateway.php/acme/v1"
ADMIN = httpx.BasicAuth(ADMIN_API_KEY, "x")
EMPLOYEE = "108"


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
        https_public_url=True,  # BambooHR refuses anything but https
    ) as made:
        yield made


async def _add(world: RegistrationWorld, **options: str) -> str:
    answer = await world.ingest.post(
        "/api/v1/connections",
        json={
            "vendor": "bamboohr",
            "display_name": "Acme HR",
            "credentials": {"api_key": ADMIN_API_KEY, "company_domain": "acme"},
            "options": options,
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _hooks(world: RegistrationWorld) -> list[dict[str, Any]]:
    answer = await world.sandbox.get(f"{GATEWAY}/webhooks", auth=ADMIN)
    assert answer.status_code == 200, answer.text
    hooks: list[dict[str, Any]] = answer.json()["webhooks"]
    return hooks


async def test_adding_a_connection_registers_a_webhook_whose_key_verifies_deliveries(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    connection_id = await _add(world)

    expected_url = f"https://hooks.example.test/webhooks/bamboohr/{connection_id}"
    [hook] = await _hooks(world)
    assert hook["url"] == expected_url
    detail = (await world.sandbox.get(f"{GATEWAY}/webhooks/{hook['id']}", auth=ADMIN)).json()
    assert detail["events"] == ["employee.created", "employee.updated", "employee.deleted"]
    assert "department" in detail["monitorFields"]

    record = await world.connection(connection_id)
    assert record.settings[REGISTRATION_KEY] == {
        "state": "registered",
        "ids": [hook["id"]],
        "url": expected_url,
    }
    assert f"webhook_secret:{hook['id']}" in await world.credential_fields(connection_id)
    # Webhooks on: reconciliation only, no poll.
    assert [s.name for s in schedules_of(record.settings).schedules] == ["reconcile"]
    actions = [e.action for e in await audit_actions(world.store, connection_id)]
    assert actions == ["connection.created", "webhook.registered"]
    shown = (await world.ingest.get(f"/api/v1/connections/{connection_id}")).json()
    assert shown["webhook"]["state"] == "registered"
    assert [s["name"] for s in shown["schedules"]] == ["reconcile"]
    assert shown["credentials"][f"webhook_secret:{hook['id']}"] == MASK  # never shown

    # The sandbox sends where https://hooks.example.test would route: the running intake.
    local = f"{world.ingest_url}/webhooks/bamboohr/{connection_id}"
    await world.sandbox.post("/_sandbox/webhooks", json={"url": local})
    changed = await world.sandbox.post(
        "/_sandbox/actions/change_department",
        json={"employeeId": EMPLOYEE, "department": "Strategy"},
    )
    assert changed.status_code == 200, changed.text

    async def answered() -> list[dict[str, Any]] | None:
        records = (await world.sandbox.get("/_sandbox/webhooks")).json()["deliveries"]
        done = [r for r in records if r["status"] is not None]
        return done or None

    [attempt] = await wait_until(answered, timeout_seconds=30, message="a delivery answered")
    assert attempt["status"] == 200, attempt
    [event] = await raw_deliveries(kafka_bootstrap, "raw.bamboohr", connection_id)
    assert event["body"] == attempt["body"]


async def test_removing_the_connection_removes_its_webhook(world: RegistrationWorld) -> None:
    connection_id = await _add(world)
    assert len(await _hooks(world)) == 1

    removed = await world.ingest.delete(f"/api/v1/connections/{connection_id}")

    assert removed.status_code == 204, removed.text
    assert await _hooks(world) == []
    actions = [e.action for e in await audit_actions(world.store, connection_id)]
    assert actions[-2:] == ["webhook.unregistered", "connection.removed"]


async def test_a_refused_registration_keeps_the_connection_and_stores_a_poll_schedule(
    world: RegistrationWorld,
) -> None:
    await world.sandbox.post(
        "/_sandbox/faults",
        json={"path": "/webhooks$", "method": "POST", "status": 403, "body": {"errors": []}},
    )

    connection_id = await _add(world)

    record = await world.connection(connection_id)
    assert record.status == "active"
    registration = record.settings[REGISTRATION_KEY]
    assert registration["state"] == "failed"
    assert "HTTP 403" in registration["reason"]
    schedules = {s.name: s for s in schedules_of(record.settings).schedules}
    assert schedules["poll"].kind == "poll"
    assert schedules["reconcile"].every_seconds == 86_400
    [failure] = [
        e for e in await audit_actions(world.store, connection_id) if e.action.startswith("webhook")
    ]
    assert failure.action == "webhook.registration_failed"
    assert "HTTP 403" in failure.detail["reason"]
    assert await _hooks(world) == []


async def test_webhooks_off_for_a_connection_registers_nothing_and_polls(
    world: RegistrationWorld,
) -> None:
    connection_id = await _add(world, webhooks="off")

    record = await world.connection(connection_id)
    assert record.settings[REGISTRATION_KEY]["state"] == "off"
    assert {s.name for s in schedules_of(record.settings).schedules} == {"poll", "reconcile"}
    assert await _hooks(world) == []
    assert not any(
        f.startswith("webhook_secret") for f in await world.credential_fields(connection_id)
    )


async def test_webhooks_turned_off_for_the_service_register_nothing(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    async with registration_world(
        tmp_path,
        vendor="bamboohr",
        sandbox_app=BambooHRSandbox(),
        knowledge=bamboohr,
        bootstrap=kafka_bootstrap,
        https_public_url=True,
        webhooks_enabled=False,  # MLC_WEBHOOKS_ENABLED=false
    ) as world:
        connection_id = await _add(world)

        record = await world.connection(connection_id)
        assert record.settings[REGISTRATION_KEY]["state"] == "off"
        assert "MLC_WEBHOOKS_ENABLED" in record.settings[REGISTRATION_KEY]["reason"]
        assert {s.name for s in schedules_of(record.settings).schedules} == {"poll", "reconcile"}
        assert await _hooks(world) == []


async def test_an_unreachable_vendor_on_removal_still_removes_the_connection_and_says_so(
    world: RegistrationWorld,
) -> None:
    connection_id = await _add(world)
    await world.sandbox.post(
        "/_sandbox/faults",
        json={"path": "/webhooks/", "method": "DELETE", "status": 500, "count": 50},
    )

    removed = await world.ingest.delete(f"/api/v1/connections/{connection_id}")

    assert removed.status_code == 204, removed.text
    assert (await world.ingest.get(f"/api/v1/connections/{connection_id}")).status_code == 404
    [left] = await _hooks(world)  # still at the vendor, and the audit entry names it
    [failure] = [
        e
        for e in await audit_actions(world.store, connection_id)
        if e.action == "webhook.unregister_failed"
    ]
    assert failure.detail["ids"] == [left["id"]]


def bamboohr_oauth(base_url: str, creds: Mapping[str, Any]) -> Knowledge:
    settings = BambooHRSettings(
        company_url_template=f"{base_url}/{{subdomain}}.bamboohr.com",
        client_id=creds["client_id"],
        client_secret=SecretStr(creds["client_secret"]),
        redirect_uri=creds["redirect_uri"],
    )
    auth = BambooHRAuth(settings)
    return Knowledge(registrar=BambooHRWebhookRegistrar(settings), oauth=auth, refresher=auth)


async def test_an_oauth_connection_registers_with_its_access_token(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    async with registration_world(
        tmp_path,
        vendor="bamboohr",
        sandbox_app=BambooHRSandbox(),
        knowledge=bamboohr_oauth,
        bootstrap=kafka_bootstrap,
        https_public_url=True,
    ) as world:
        started = await world.ingest.post(
            "/api/v1/oauth/bamboohr/start", json={"options": {"subdomain": "acme"}}
        )
        assert started.status_code == 201, started.text
        connection_id = str(started.json()["connection_id"])
        async with httpx.AsyncClient() as browser:
            consent = await browser.get(started.json()["consent_url"])
            assert consent.status_code in (302, 303), consent.text
            redirect = urlsplit(consent.headers["location"])
            ingest = urlsplit(world.ingest_url)
            callback = await browser.get(urlunsplit(redirect._replace(netloc=ingest.netloc)))
        assert callback.status_code == 200, callback.text

        record = await world.connection(connection_id)
        assert record.settings[REGISTRATION_KEY]["state"] == "registered", record.settings
        [hook_id] = record.settings[REGISTRATION_KEY]["ids"]
        assert f"webhook_secret:{hook_id}" in await world.credential_fields(connection_id)
        # Owned by the token's user, so the admin key cannot list it: read the sandbox's state.
        [hook] = (await world.sandbox.get("/_sandbox/state/webhooks")).json()
        assert (str(hook["id"]), hook["url"]) == (
            hook_id,
            f"https://hooks.example.test/webhooks/bamboohr/{connection_id}",
        )


async def test_an_answer_of_an_unexpected_shape_counts_as_a_failed_registration(
    world: RegistrationWorld,
) -> None:
    await world.sandbox.post(
        "/_sandbox/faults",
        json={"path": "/webhooks$", "method": "POST", "status": 201, "body": {"ok": True}},
    )

    connection_id = await _add(world)

    registration = (await world.connection(connection_id)).settings[REGISTRATION_KEY]
    assert registration["state"] == "failed"
    assert registration["reason"] == "the vendor's answer was not what we expected (KeyError)"
