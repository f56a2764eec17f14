"""FreshBooks callbacks registered by ingest after consent, with the verifier handshake.

Real sockets: the test plays the browser through consent; the OAuth callback makes the
connection active, which registers one callback per event at the FreshBooks sandbox; the
sandbox sends each verifier to the running intake, which confirms it at FreshBooks and keeps
it as that callback's secret; the next signed delivery lands on ``raw.freshbooks`` in the
real Kafka. Removing the connection deletes the callbacks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from pydantic import SecretStr

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.seed import ACCOUNT_ID
from sandboxes.kit import wait_until
from services.control.webhook_registrations import REGISTRATION_KEY
from services.freshbooks.auth import FreshBooksOAuth
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.webhook_registration import FreshBooksWebhookRegistrar
from services.runtime.oauth_tokens import TOKENS_FIELD, load_tokens
from services.runtime.store import StateStore
from services.runtime.vendor_plugin import Registered, VendorAccess
from tests.integration.ingest.ingest_live import raw_deliveries
from tests.integration.ingest.registration_live import (
    Knowledge,
    RegistrationWorld,
    audit_actions,
    registration_world,
)

CALLBACKS = f"/events/account/{ACCOUNT_ID}/events/callbacks"
EVENTS = ("expense.create", "bill.create")


def sandbox_settings(base_url: str, creds: Mapping[str, Any]) -> FreshBooksSettings:
    return FreshBooksSettings(
        auth_base_url=base_url,
        api_base_url=base_url,
        client_id=creds["client_id"],
        client_secret=SecretStr(creds["client_secret"]),
        redirect_uri=creds["redirect_uri"],
        webhook_events=EVENTS,
    )


def freshbooks(base_url: str, creds: Mapping[str, Any]) -> Knowledge:
    settings = sandbox_settings(base_url, creds)
    oauth = FreshBooksOAuth(settings)
    registrar = FreshBooksWebhookRegistrar(settings)
    return Knowledge(registrar=registrar, oauth=oauth, refresher=oauth)


@pytest.fixture
async def world(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[RegistrationWorld]:
    async with registration_world(
        tmp_path,
        vendor="freshbooks",
        sandbox_app=FreshBooksSandbox(),
        knowledge=freshbooks,
        bootstrap=kafka_bootstrap,
    ) as made:
        yield made


async def _consent(world: RegistrationWorld) -> str:
    started = await world.ingest.post("/api/v1/oauth/freshbooks/start", json={})
    assert started.status_code == 201, started.text
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(started.json()["consent_url"])
        assert consent.status_code in (302, 303), consent.text
        redirect = urlsplit(consent.headers["location"])
        ingest = urlsplit(world.ingest_url)
        callback = await browser.get(urlunsplit(redirect._replace(netloc=ingest.netloc)))
    assert callback.status_code == 200, callback.text
    return str(started.json()["connection_id"])


async def _callbacks(world: RegistrationWorld, token: str) -> list[dict[str, Any]]:
    answer = await world.sandbox.get(CALLBACKS, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    callbacks: list[dict[str, Any]] = answer.json()["response"]["result"]["callbacks"]
    return callbacks


async def _access_token(world: RegistrationWorld, connection_id: str) -> str:
    # The sandbox's own view of the callbacks needs a token of that account: ours will do.
    async with world.store.transaction() as tx:
        stored = await tx.credentials.get(connection_id, TOKENS_FIELD)
    assert stored is not None
    text = world.vault.decrypt(stored.token, connection_id=connection_id, field=TOKENS_FIELD)
    return load_tokens(text).access_token


async def test_consent_registers_verified_callbacks_whose_verifiers_sign_deliveries(
    world: RegistrationWorld, kafka_bootstrap: str
) -> None:
    connection_id = await _consent(world)
    token = await _access_token(world, connection_id)

    async def all_verified() -> list[dict[str, Any]] | None:
        callbacks = await _callbacks(world, token)
        done = len(callbacks) == len(EVENTS) and all(c["verified"] for c in callbacks)
        return callbacks if done else None

    callbacks = await wait_until(all_verified, timeout_seconds=30, message="callbacks verified")
    url = f"{world.ingest_url}/webhooks/freshbooks/{connection_id}"
    assert {c["uri"] for c in callbacks} == {url}
    assert {c["event"] for c in callbacks} == set(EVENTS)
    ids = sorted(str(c["callbackid"]) for c in callbacks)

    async def secrets_kept() -> list[str] | None:
        fields = await world.credential_fields(connection_id)
        wanted = [f"webhook_secret:{i}" for i in ids]
        return fields if all(w in fields for w in wanted) else None

    fields = await wait_until(secrets_kept, timeout_seconds=30, message="verifiers kept")
    assert not any(f.startswith("webhook_verifier:") for f in fields)
    record = await world.connection(connection_id)
    assert sorted(record.settings[REGISTRATION_KEY]["ids"]) == ids
    assert record.settings[REGISTRATION_KEY]["state"] == "registered"
    actions = [e.action for e in await audit_actions(world.store, connection_id)]
    assert actions.count("webhook.confirmed") == len(EVENTS)

    created = await world.sandbox.post(
        "/_sandbox/actions/create_expense",
        json={"staffid": 2, "category": "Airfare", "amount": "10.00"},
    )
    assert created.status_code == 200, created.text

    async def published() -> list[dict[str, Any]] | None:
        events = await raw_deliveries(kafka_bootstrap, "raw.freshbooks", connection_id)
        return events or None

    [event] = await wait_until(published, timeout_seconds=30, message="expense on raw.freshbooks")
    assert "name=expense.create" in event["body"]


async def test_removing_the_connection_deletes_its_callbacks(world: RegistrationWorld) -> None:
    connection_id = await _consent(world)
    token = await _access_token(world, connection_id)
    assert len(await _callbacks(world, token)) == len(EVENTS)

    removed = await world.ingest.delete(f"/api/v1/connections/{connection_id}")

    assert removed.status_code == 204, removed.text
    assert await _callbacks(world, token) == []
    actions = [e.action for e in await audit_actions(world.store, connection_id)]
    assert "webhook.unregistered" in actions


async def test_a_forged_handshake_for_a_confirmed_callback_reaches_nobody_and_stores_nothing(
    world: RegistrationWorld,
) -> None:
    connection_id = await _consent(world)
    token = await _access_token(world, connection_id)
    callbacks = await _callbacks(world, token)
    secret_fields = {f"webhook_secret:{c['callbackid']}" for c in callbacks}

    async def all_kept() -> bool | None:
        return secret_fields <= set(await world.credential_fields(connection_id)) or None

    await wait_until(all_kept, timeout_seconds=30, message="the genuine verifiers kept")
    fields_before = await world.credential_fields(connection_id)
    await world.sandbox.delete("/_sandbox/requests")
    callback_id = str(callbacks[0]["callbackid"])
    forged = [
        await world.ingest.post(
            f"/webhooks/freshbooks/{connection_id}",
            content=f"name=callback.verify&object_id={object_id}&verifier=forged-code",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        for object_id in (callback_id, "999", "..%2F..%2Fauth%2Fapi%2Fv1%2Fusers%2Fme")
    ]
    assert [answer.status_code for answer in forged] == [404, 404, 400]
    # Nothing was sent to FreshBooks with the connection's token, nothing was stored.
    assert (await world.sandbox.get("/_sandbox/requests")).json() == []
    assert await world.credential_fields(connection_id) == fields_before
    field = f"webhook_secret:{callback_id}"
    async with world.store.transaction() as tx:
        kept = await tx.credentials.get(connection_id, field)
    assert kept is not None
    assert world.vault.decrypt(kept.token, connection_id=connection_id, field=field) != (
        "forged-code"
    )


class _SlowToAnswer(FreshBooksWebhookRegistrar):
    """FreshBooks answering the registration only after its handshakes reached the intake
    (the order the live service may well have), so the ids are unknown when they arrive."""

    def __init__(self, settings: FreshBooksSettings, store: StateStore) -> None:
        super().__init__(settings)
        self._store = store

    async def register(self, http: httpx.AsyncClient, access: VendorAccess, url: str) -> Registered:
        registered = await super().register(http, access, url)

        async def all_arrived() -> bool | None:
            async with self._store.transaction() as tx:
                stored = await tx.credentials.list(connection_id=access.connection_id)
            waiting = [c for c in stored if c.field.startswith("webhook_verifier:")]
            return len(waiting) == len(registered.webhook_ids) or None

        await wait_until(all_arrived, timeout_seconds=30, message="handshakes while registering")
        return registered


async def test_handshakes_arriving_before_the_registration_answers_are_confirmed_once(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")

    def slow(base_url: str, creds: Mapping[str, Any]) -> Knowledge:
        registrar = _SlowToAnswer(sandbox_settings(base_url, creds), store)
        return replace(freshbooks(base_url, creds), registrar=registrar)

    try:
        async with registration_world(
            tmp_path,
            vendor="freshbooks",
            sandbox_app=FreshBooksSandbox(),
            knowledge=slow,
            bootstrap=kafka_bootstrap,
            store=store,
        ) as world:
            connection_id = await _consent(world)
            token = await _access_token(world, connection_id)
            callbacks = await _callbacks(world, token)
            assert len(callbacks) == len(EVENTS)
            assert all(c["verified"] for c in callbacks)  # confirmed before consent answered
            actions = [e.action for e in await audit_actions(world.store, connection_id)]
            assert actions.count("webhook.confirmed") == len(EVENTS)
            fields = await world.credential_fields(connection_id)
            assert fields == sorted(
                ["oauth_tokens", *(f"webhook_secret:{c['callbackid']}" for c in callbacks)]
            )
    finally:
        await store.close()
