"""The FreshBooks, BILL and Zoho Books sandboxes fire their own signed webhooks at ingest.

Real sockets: each sandbox and the ingest service run under uvicorn on free ports and the
deliveries are read back from the real Kafka. FreshBooks starts with its verification
handshake: ingest records the verifier, and the test plays the registration step (confirm
it at the sandbox, keep it as the callback's secret). BILL's sandbox duplicates a
delivery on request, which must be recorded once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.bill.app import BillSandbox
from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.kit import build_app, serve, wait_until
from sandboxes.zoho.app import ZohoSandbox
from schemas.envelope import utcnow
from services.ingest.webhooks import SECRET_FIELD, VERIFIER_FIELD_PREFIX
from services.runtime.store import StateStore
from services.runtime.vault import Vault
from services.runtime.webhook_records import REGISTRATION_KEY
from tests.integration.ingest.ingest_live import raw_deliveries, running_ingest
from tests.sandboxes.bill.bill_helpers import ADOBE_BILL, EVENTS, idempotent, login
from tests.sandboxes.freshbooks.fb_helpers import CALLBACKS, bearer
from tests.sandboxes.zoho.zoho_helpers import LIAM, sign_in
from tests.unit.ingest.ingest_harness import add_connection, new_vault, open_store, refusals

ZOHO_SECRET = "s3cretKey4Books2026"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await open_store(tmp_path)
    yield opened
    await opened.close()


@pytest.fixture
def vault() -> Vault:
    return new_vault()


async def _delivery(sandbox: httpx.AsyncClient, tag_or_none: str | None) -> dict[str, Any]:
    """The sandbox's record of the first answered delivery with ``tag`` (any, for None)."""

    async def answered() -> dict[str, Any] | None:
        state = (await sandbox.get("/_sandbox/webhooks")).json()
        for record in state["deliveries"]:
            if record["status"] is not None and tag_or_none in (None, record["tag"]):
                found: dict[str, Any] = record
                return found
        return None

    return await wait_until(answered, timeout_seconds=30, message=f"a {tag_or_none} delivery")


async def _tampered_is_refused(url: str, record: dict[str, Any]) -> None:
    body = record["body"].encode()
    tampered = bytes([body[0] ^ 1]) + body[1:]
    async with httpx.AsyncClient(timeout=10) as vendor:
        forged = await vendor.post(url, content=tampered, headers=record["headers"])
    # The signature is checked before the body's syntax, so even broken JSON is a 401.
    assert forged.status_code == 401, forged.text
    assert forged.json()["error"] == "bad_signature"


async def test_a_freshbooks_callback_handshake_then_a_signed_delivery_lands_on_raw_freshbooks(
    kafka_bootstrap: str, store: StateStore, vault: Vault
) -> None:
    connection_id = f"fb-{uuid.uuid4().hex[:10]}"
    # As the registrations leave it while they call FreshBooks: awaiting handshakes.
    registering = {"state": "registering", "since": utcnow().isoformat(), "ids": []}
    await add_connection(
        store,
        vault,
        vendor="freshbooks",
        connection_id=connection_id,
        settings={REGISTRATION_KEY: registering},
    )
    async with (
        running_ingest(bootstrap=kafka_bootstrap, store=store, vault=vault) as ingest,
        serve(build_app(FreshBooksSandbox())) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as sandbox,
    ):
        url = f"{ingest.base_url}/webhooks/freshbooks/{connection_id}"
        headers = await bearer(sandbox)
        created = await sandbox.post(
            CALLBACKS, json={"callback": {"event": "expense.create", "uri": url}}, headers=headers
        )
        assert created.status_code == 200, created.text
        callback_id = str(created.json()["response"]["result"]["callback"]["callbackid"])
        handshake = await _delivery(sandbox, "callback.verify")
        assert handshake["status"] == 200

        # The registration step: read the recorded verifier, confirm it, keep it as the secret.
        field = VERIFIER_FIELD_PREFIX + callback_id
        async with store.transaction() as tx:
            stored = await tx.credentials.get(connection_id, field)
        assert stored is not None
        verifier = vault.decrypt(stored.token, connection_id=connection_id, field=field)
        confirmed = await sandbox.put(
            f"{CALLBACKS}/{callback_id}",
            json={"callback": {"verifier": verifier}},
            headers=headers,
        )
        assert confirmed.json()["response"]["result"]["callback"]["verified"] is True
        await add_secret(store, vault, connection_id, f"{SECRET_FIELD}:{callback_id}", verifier)

        expense = await sandbox.post(
            "/_sandbox/actions/create_expense",
            json={"staffid": 2, "category": "Airfare", "amount": "10.00"},
        )
        assert expense.status_code == 200, expense.text
        delivery = await _delivery(sandbox, "expense.create")
        assert delivery["status"] == 200
        [event] = await raw_deliveries(kafka_bootstrap, "raw.freshbooks", connection_id)
        assert event["body"] == delivery["body"]
        assert event["content_type"] == "application/x-www-form-urlencoded"
        assert "x-freshbooks-hmac-sha256" not in event["headers"]
        await _tampered_is_refused(url, delivery)
    assert [entry.detail["reason"] for entry in await refusals(store)] == ["bad_signature"]


async def add_secret(
    store: StateStore, vault: Vault, connection_id: str, field: str, secret: str
) -> None:
    token = vault.encrypt(secret, connection_id=connection_id, field=field)
    async with store.transaction() as tx:
        await tx.credentials.put(connection_id, field, token=token, key_id=Vault.key_id_of(token))


async def test_a_zoho_workflow_webhook_lands_on_raw_zoho(
    kafka_bootstrap: str, store: StateStore, vault: Vault
) -> None:
    connection_id = f"zoho-{uuid.uuid4().hex[:10]}"
    await add_connection(
        store, vault, vendor="zoho", connection_id=connection_id,
        secrets={SECRET_FIELD: ZOHO_SECRET},
    )  # fmt: skip
    async with (
        running_ingest(bootstrap=kafka_bootstrap, store=store, vault=vault) as ingest,
        serve(build_app(ZohoSandbox())) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as sandbox,
    ):
        url = f"{ingest.base_url}/webhooks/zoho/{connection_id}"
        session = await sign_in(sandbox)
        registered = await sandbox.post(
            f"{session.base}/settings/webhooks",
            params=session.org,
            headers=session.headers,
            json={
                "webhook_name": "ml-connector contacts",
                "entity": "contact",
                "url": url,
                "method": "POST",
                "events": ["create", "edit", "delete"],
                "secret": ZOHO_SECRET,
                "query_parameters": [{"param_name": "source", "param_value": "zoho"}],
            },
        )
        assert registered.status_code == 201, registered.text
        found = await sandbox.get(
            f"{session.base}/contacts",
            params={**session.org, "email": LIAM},
            headers=session.headers,
        )
        liam = str(found.json()["contacts"][0]["contact_id"])
        edited = await sandbox.post(
            "/_sandbox/actions/edit_contact",
            json={"contact_id": liam, "changes": {"notes": "Promoted"}},
        )
        assert edited.status_code == 200, edited.text
        delivery = await _delivery(sandbox, None)
        assert delivery["status"] == 200, delivery
        [event] = await raw_deliveries(kafka_bootstrap, "raw.zoho", connection_id)
        assert event["body"] == delivery["body"]
        assert "x-zoho-webhook-signature" not in event["headers"]
        await _tampered_is_refused(delivery["url"], delivery)
    assert len(await refusals(store)) == 1


async def test_bill_notifications_land_on_raw_bill_once_each_even_when_duplicated(
    kafka_bootstrap: str, store: StateStore, vault: Vault
) -> None:
    connection_id = f"bill-{uuid.uuid4().hex[:10]}"
    async with (
        running_ingest(bootstrap=kafka_bootstrap, store=store, vault=vault) as ingest,
        serve(build_app(BillSandbox())) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as sandbox,
    ):
        url = f"{ingest.base_url}/webhooks/bill/{connection_id}"
        headers = await login(sandbox)
        subscription = {
            "name": "AP sync",
            "status": {"enabled": True},
            "events": [
                {"type": "bill.updated", "version": "1"},
                {"type": "payment.updated", "version": "1"},
            ],
            "notificationUrl": f"https://hooks.example.com/webhooks/bill/{connection_id}",
        }
        created = await sandbox.post(
            f"{EVENTS}/subscriptions", json=subscription, headers=idempotent(headers)
        )
        assert created.status_code == 200, created.text
        await add_connection(
            store, vault, vendor="bill", connection_id=connection_id,
            secrets={SECRET_FIELD: created.json()["securityKey"]},
        )  # fmt: skip
        # HTTPS only at BILL; the sandbox sends to the local service, each delivery twice.
        await sandbox.post("/_sandbox/webhooks", json={"url": url, "duplicate": 2})
        paid = await sandbox.post("/_sandbox/actions/pay_bill", json={"bill_id": ADOBE_BILL})
        assert paid.status_code == 200, paid.text

        async def answered() -> list[dict[str, Any]] | None:
            state = (await sandbox.get("/_sandbox/webhooks")).json()
            records: list[dict[str, Any]] = state["deliveries"]
            done = [r for r in records if r["status"] is not None]
            return done if len(done) >= 4 and state["pending"] == 0 else None

        records: list[dict[str, Any]] = await wait_until(
            answered, timeout_seconds=30, message="4 answered deliveries"
        )
        assert {r["status"] for r in records} == {200}
        events = await raw_deliveries(kafka_bootstrap, "raw.bill", connection_id)
        sent_ids = {json.loads(r["body"])["metadata"]["eventId"] for r in records}
        assert len(sent_ids) == 2
        assert sorted(e["delivery_id"] for e in events) == sorted(sent_ids)
        await _tampered_is_refused(url, records[0])
