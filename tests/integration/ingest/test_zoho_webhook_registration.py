"""Zoho Books webhooks created by ingest after consent, over real sockets and the real Kafka.

Consent (the test plays the browser) makes the connection active, which creates a webhook
at the Zoho sandbox with a secret we chose, pointing at ``$MLC_PUBLIC_URL/webhooks/zoho/<id>``;
a contact change then arrives signed with that secret and lands on ``raw.zoho``. Removing
the connection deletes the webhook.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from pydantic import SecretStr

from sandboxes.kit import wait_until
from sandboxes.zoho.app import ZohoSandbox
from services.control.webhook_registrations import REGISTRATION_KEY
from services.runtime.oauth_tokens import TOKENS_FIELD, load_tokens
from services.runtime.schedule_specs import schedules_of
from services.zoho.auth import ZohoOAuth
from services.zoho.plugin import LINKS_SCHEDULE
from services.zoho.settings import ZohoSettings
from services.zoho.webhook_registration import ZohoWebhookRegistrar
from tests.integration.ingest.ingest_live import raw_deliveries
from tests.integration.ingest.registration_live import (
    Knowledge,
    RegistrationWorld,
    audit_actions,
    registration_world,
)


def zoho(base_url: str, creds: Mapping[str, Any]) -> Knowledge:
    settings = ZohoSettings(
        accounts_base_url=f"{base_url}/accounts.zoho.com",
        trusted_accounts_servers=(f"{base_url}/accounts.zoho.",),
        client_id=creds["client_id"],
        client_secret=SecretStr(creds["client_secret"]),
        redirect_uri=creds["redirect_uri"],
    )
    oauth = ZohoOAuth(settings)
    return Knowledge(registrar=ZohoWebhookRegistrar(settings), oauth=oauth, refresher=oauth)


@pytest.fixture
async def world(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[RegistrationWorld]:
    async with registration_world(
        tmp_path,
        vendor="zoho",
        sandbox_app=ZohoSandbox(),
        knowledge=zoho,
        bootstrap=kafka_bootstrap,
    ) as made:
        yield made


async def _consent(world: RegistrationWorld) -> str:
    started = await world.ingest.post("/api/v1/oauth/zoho/start", json={})
    assert started.status_code == 201, started.text
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(started.json()["consent_url"])
        assert consent.status_code in (302, 303), consent.text
        redirect = urlsplit(consent.headers["location"])
        ingest = urlsplit(world.ingest_url)
        callback = await browser.get(urlunsplit(redirect._replace(netloc=ingest.netloc)))
    assert callback.status_code == 200, callback.text
    return str(started.json()["connection_id"])


async def _webhooks(world: RegistrationWorld, connection_id: str) -> list[dict[str, Any]]:
    record = await world.connection(connection_id)
    async with world.store.transaction() as tx:
        stored = await tx.credentials.get(connection_id, TOKENS_FIELD)
    assert stored is not None
    tokens = load_tokens(
        world.vault.decrypt(stored.token, connection_id=connection_id, field=TOKENS_FIELD)
    )
    answer = await world.sandbox.get(
        f"{tokens.extra['api_domain']}/books/v3/settings/webhooks",
        params={"organization_id": record.settings["organization_id"]},
        headers={"Authorization": f"Zoho-oauthtoken {tokens.access_token}"},
    )
    assert answer.status_code == 200, answer.text
    hooks: list[dict[str, Any]] = answer.json()["webhooks"]
    return hooks


async def test_consent_creates_a_signed_webhook_whose_deliveries_verify(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    connection_id = await _consent(world)

    [hook] = await _webhooks(world, connection_id)
    assert hook["url"] == f"{world.ingest_url}/webhooks/zoho/{connection_id}"
    assert hook["has_secret"] is True
    record = await world.connection(connection_id)
    assert record.settings[REGISTRATION_KEY]["ids"] == [str(hook["webhook_id"])]
    assert f"webhook_secret:{hook['webhook_id']}" in await world.credential_fields(connection_id)
    # The plugin's own schedule beside the defaults: the per-minute "which links are due".
    schedules = {s.name: s for s in schedules_of(record.settings).schedules}
    assert set(schedules) == {"reconcile", LINKS_SCHEDULE}
    assert (schedules[LINKS_SCHEDULE].kind, schedules[LINKS_SCHEDULE].every_seconds) == (
        "reconcile",
        60,
    )

    created = await world.sandbox.post(
        "/_sandbox/actions/create_contact",
        json={"contact": {"contact_name": "Ada Lovelace", "contact_type": "vendor"}},
    )
    assert created.status_code == 200, created.text

    async def published() -> list[dict[str, Any]] | None:
        return await raw_deliveries(kafka_bootstrap, "raw.zoho", connection_id) or None

    [event] = await wait_until(published, timeout_seconds=30, message="raw.zoho delivery")
    assert "Ada Lovelace" in event["body"]


async def test_removing_the_connection_deletes_the_webhook(world: RegistrationWorld) -> None:
    connection_id = await _consent(world)
    assert len(await _webhooks(world, connection_id)) == 1
    # Keep a way to look after the connection (and its tokens) is gone.
    record = await world.connection(connection_id)
    async with world.store.transaction() as tx:
        stored = await tx.credentials.get(connection_id, TOKENS_FIELD)
    assert stored is not None
    tokens = load_tokens(
        world.vault.decrypt(stored.token, connection_id=connection_id, field=TOKENS_FIELD)
    )

    removed = await world.ingest.delete(f"/api/v1/connections/{connection_id}")

    assert removed.status_code == 204, removed.text
    answer = await world.sandbox.get(
        f"{tokens.extra['api_domain']}/books/v3/settings/webhooks",
        params={"organization_id": record.settings["organization_id"]},
        headers={"Authorization": f"Zoho-oauthtoken {tokens.access_token}"},
    )
    assert answer.json()["webhooks"] == []
    actions = [e.action for e in await audit_actions(world.store, connection_id)]
    assert "webhook.unregistered" in actions
