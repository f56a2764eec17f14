"""The webhook intake in process: the bad-input table, publishing, duplicates, Kafka trouble.

The app runs in process (httpx's ASGI transport) on a real SQLite state store and a real
vault; the one stand-in is the Kafka publish (``RecordingPublisher``), the edge these
socket-free tests cannot reach. tests/integration/ingest runs the same intake against
the real Kafka and the vendor sandboxes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette

from services.ingest.webhooks import LEDGER_SERVICE, SECRET_FIELD, WebhookIntake, webhook_routes
from services.runtime.store import StateStore
from services.runtime.vault import Vault
from services.runtime.webhook_records import REGISTRATION_KEY
from tests.unit.ingest.ingest_harness import (
    RecordingPublisher,
    add_connection,
    bamboohr_headers,
    bill_signature,
    freshbooks_signature,
    new_vault,
    open_store,
    refusals,
    test_settings,
    zoho_signature,
)

BAMBOO_SECRET = "5f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b"
FRESHBOOKS_VERIFIER = "scADVVexampleVerifier123"
BILL_KEY = "bill-security-key"
ZOHO_SECRET = "zohoSecret12345"
NOW = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
STAMP = str(int(NOW.timestamp()))
HR = "/webhooks/bamboohr/hr-1"
EMPLOYEE_UPDATED = b'{"type":"employee.updated","timestamp":"2026-02-03T10:00:00Z","data":{}}'


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await open_store(tmp_path)
    vault = new_vault()
    await add_connection(
        opened, vault, vendor="bamboohr", connection_id="hr-1",
        secrets={SECRET_FIELD: BAMBOO_SECRET},
    )  # fmt: skip
    await add_connection(opened, vault, vendor="bamboohr", connection_id="hr-no-secret")
    await add_connection(
        opened, vault, vendor="freshbooks", connection_id="fb-1",
        secrets={f"{SECRET_FIELD}:2001": FRESHBOOKS_VERIFIER},
        # Two callbacks registered: 2001 confirmed (it has a secret), 2002 awaiting its verifier.
        settings={REGISTRATION_KEY: {"state": "registered", "ids": ["2001", "2002"]}},
    )  # fmt: skip
    await add_connection(
        opened, vault, vendor="bill", connection_id="bill-1", secrets={SECRET_FIELD: BILL_KEY}
    )
    await add_connection(
        opened, vault, vendor="zoho", connection_id="zoho-1", secrets={SECRET_FIELD: ZOHO_SECRET}
    )
    opened.test_vault = vault  # type: ignore[attr-defined]
    yield opened
    await opened.close()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def intake(store: StateStore, publisher: RecordingPublisher) -> WebhookIntake:
    vault: Vault = store.test_vault  # type: ignore[attr-defined]
    return WebhookIntake(
        store=store,
        vault=vault,
        publish=publisher,
        settings=test_settings(),
        clock=lambda: NOW,
    )


@pytest.fixture
async def client(intake: WebhookIntake) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=webhook_routes(intake))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as http:
        yield http
    await intake.aclose()


def _bamboo(
    body: bytes = EMPLOYEE_UPDATED, stamp: str = STAMP, changes: dict[str, str] | None = None
) -> dict[str, str]:
    return {**bamboohr_headers(body, secret=BAMBOO_SECRET, timestamp=stamp), **(changes or {})}


async def _chunks(size: int) -> AsyncIterator[bytes]:
    # A streamed body has no Content-Length: the cap must hold while reading.
    for _ in range(size // 1024):
        yield b"x" * 1024


@dataclass(frozen=True)
class BadInput:
    name: str
    path: str
    request: dict[str, Any]
    status: int
    reason: str


BAD_INPUT: list[BadInput] = [
    BadInput("unknown vendor", "/webhooks/quickbooks/hr-1", {"headers": _bamboo()}, 404,
             "unknown_vendor"),
    BadInput("unknown connection", "/webhooks/bamboohr/nope", {"headers": _bamboo()}, 404,
     "unknown_connection"),
    BadInput("a connection of another vendor", "/webhooks/bamboohr/bill-1",
             {"headers": _bamboo()}, 404, "unknown_connection"),
    BadInput("a content type the vendor does not send", "/webhooks/bamboohr/hr-1",
     {"headers": _bamboo(changes={"content-type": "text/plain"})}, 415, "unsupported_content_type"),
    BadInput("no content type", "/webhooks/bamboohr/hr-1",
     {"headers": _bamboo(changes={"content-type": ""})}, 415, "unsupported_content_type"),
    BadInput("JSON to a form-only vendor", "/webhooks/freshbooks/fb-1",
     {"headers": {"content-type": "application/json"}}, 415, "unsupported_content_type"),
    BadInput("a body over the cap", "/webhooks/bamboohr/hr-1",
     {"headers": _bamboo(), "content": b"{" + b" " * 5000 + b"}"}, 413, "body_too_large"),
    BadInput("a streamed body over the cap", "/webhooks/bamboohr/hr-1",
     {"headers": _bamboo(), "content": _chunks(8192)}, 413, "body_too_large"),
    BadInput("no signature", "/webhooks/bamboohr/hr-1",
     {"headers": {"content-type": "application/json", "x-bamboohr-timestamp": STAMP}}, 401,
     "missing_signature"),
    BadInput("a wrong signature", "/webhooks/bamboohr/hr-1",
     {"headers": _bamboo(changes={"x-bamboohr-signature": "ab" * 32})}, 401, "bad_signature"),
    BadInput("one changed body byte", "/webhooks/bamboohr/hr-1",
     {"headers": _bamboo(), "content": EMPLOYEE_UPDATED.replace(b"updated", b"updatee")}, 401,
     "bad_signature"),
    BadInput("a stale timestamp", "/webhooks/bamboohr/hr-1",
     {"headers": _bamboo(stamp=str(int(NOW.timestamp()) - 3600)),
      "content": EMPLOYEE_UPDATED}, 401, "stale_timestamp"),
    BadInput("no secret stored for the connection", "/webhooks/bamboohr/hr-no-secret",
     {"headers": _bamboo()}, 401, "no_webhook_secret"),
    BadInput("malformed JSON, correctly signed", "/webhooks/bamboohr/hr-1",
     {"headers": _bamboo(b"{not json"), "content": b"{not json"}, 400, "malformed_json"),
    BadInput("a query string with too many fields", HR + "?" + "a=1&" * 1001,
             {"headers": _bamboo()}, 400, "malformed_query"),
    BadInput("a BILL body that is not JSON, correctly signed", "/webhooks/bill/bill-1",
     {"headers": {"content-type": "application/json",
                  "x-bill-sha-signature": bill_signature(BILL_KEY, b"\xff\xfe")},
      "content": b"\xff\xfe"}, 400, "malformed_body"),
]  # fmt: skip


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in BAD_INPUT])
async def test_bad_input_gets_its_status_an_audit_record_and_reaches_no_topic(
    client: httpx.AsyncClient, store: StateStore, publisher: RecordingPublisher, case: BadInput
) -> None:
    path, status, reason = case.path, case.status, case.reason
    options = {"content": EMPLOYEE_UPDATED, **case.request}
    answer = await client.post(path, **options)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == reason
    assert answer.json()["detail"]
    [entry] = await refusals(store)
    assert entry.actor == "ingest"
    assert entry.detail["status"] == status
    assert entry.detail["reason"] == reason
    assert entry.detail["client"] == "203.0.113.7"
    assert entry.subject == "webhook:" + path.removeprefix("/webhooks/").split("?")[0]
    assert publisher.published == []


async def test_a_stale_refusal_says_how_old_the_timestamp_is(client: httpx.AsyncClient) -> None:
    old = str(int(NOW.timestamp()) - 3600)
    answer = await client.post(
        "/webhooks/bamboohr/hr-1", content=EMPLOYEE_UPDATED, headers=_bamboo(stamp=old)
    )
    assert answer.status_code == 401
    assert "3600s old" in answer.json()["detail"]


async def test_a_verified_delivery_is_published_to_the_vendors_raw_topic(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    headers = _bamboo(changes={"company-domain": "acme", "authorization": "Basic c2VjcmV0"})
    answer = await client.post("/webhooks/bamboohr/hr-1", content=EMPLOYEE_UPDATED, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "accepted"
    [(event, topic)] = publisher.published
    assert topic == "raw.bamboohr"
    assert event.vendor == "bamboohr"
    assert event.connection_id == "hr-1"
    assert event.tenant_id == "acme"
    assert event.occurred_at == NOW
    assert event.body == EMPLOYEE_UPDATED.decode()
    assert event.content_type == "application/json"
    assert event.delivery_id.startswith("sha256:")
    assert event.entity_key == event.delivery_id
    assert event.headers["company-domain"] == "acme"
    assert event.headers["x-bamboohr-timestamp"] == STAMP
    assert "x-bamboohr-signature" not in event.headers
    assert "authorization" not in event.headers


async def test_the_same_delivery_twice_is_published_once(
    client: httpx.AsyncClient, publisher: RecordingPublisher, store: StateStore
) -> None:
    first = await client.post(
        "/webhooks/bamboohr/hr-1", content=EMPLOYEE_UPDATED, headers=_bamboo()
    )
    again = await client.post(
        "/webhooks/bamboohr/hr-1", content=EMPLOYEE_UPDATED, headers=_bamboo()
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["status"] == "duplicate"
    assert len(publisher.published) == 1
    key = f"bamboohr:hr-1:{first.json()['delivery_id']}"
    async with store.transaction() as tx:
        entry = await tx.ledger.get(LEDGER_SERVICE, key)
    assert entry is not None
    assert entry.outcome == "published"


async def test_bill_deliveries_with_the_same_event_id_are_published_once(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    for status in ("SCHEDULED", "SCHEDULED "):
        body = json.dumps(
            {"metadata": {"eventId": "evt-1"}, "payment": {"status": status}}
        ).encode()
        headers = {"content-type": "application/json",
                   "x-bill-sha-signature": bill_signature(BILL_KEY, body)}  # fmt: skip
        answer = await client.post("/webhooks/bill/bill-1", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
    [(event, topic)] = publisher.published
    assert (topic, event.delivery_id) == ("raw.bill", "evt-1")


async def test_when_kafka_fails_the_vendor_gets_503_and_its_retry_is_published(
    client: httpx.AsyncClient, publisher: RecordingPublisher, store: StateStore
) -> None:
    publisher.failure = ConnectionError("broker down")
    refused = await client.post(
        "/webhooks/bamboohr/hr-1", content=EMPLOYEE_UPDATED, headers=_bamboo()
    )
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "30"
    assert refused.json()["error"] == "kafka_unavailable"
    assert await refusals(store) == []  # our trouble, not the sender's: no refusal entry
    publisher.failure = None
    retried = await client.post(
        "/webhooks/bamboohr/hr-1", content=EMPLOYEE_UPDATED, headers=_bamboo()
    )
    assert retried.status_code == 200
    assert retried.json()["status"] == "accepted"
    assert len(publisher.published) == 1


async def test_a_publish_that_outlives_the_wait_is_kept_and_its_retry_is_a_duplicate(
    store: StateStore, publisher: RecordingPublisher
) -> None:
    publisher.gate = asyncio.Event()
    vault: Vault = store.test_vault  # type: ignore[attr-defined]
    slow = WebhookIntake(
        store=store,
        vault=vault,
        publish=publisher,
        settings=test_settings(webhook_publish_timeout_seconds=0.2),
        clock=lambda: NOW,
    )
    transport = httpx.ASGITransport(app=Starlette(routes=webhook_routes(slow)))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as http:
        url = "/webhooks/bamboohr/hr-1"
        timed_out = await http.post(url, content=EMPLOYEE_UPDATED, headers=_bamboo())
        assert timed_out.status_code == 503
        assert timed_out.json()["error"] == "kafka_timeout"
        while_running = await http.post(url, content=EMPLOYEE_UPDATED, headers=_bamboo())
        assert while_running.status_code == 503
        assert while_running.json()["error"] == "in_flight"
        publisher.gate.set()
        await slow.aclose()  # waits for the running publish, which the gate now lets finish
        assert slow.in_flight == 0
        later = await http.post(url, content=EMPLOYEE_UPDATED, headers=_bamboo())
        assert later.status_code == 200
        assert later.json()["status"] == "duplicate"
    assert len(publisher.published) == 1


async def test_the_freshbooks_handshake_records_the_verifier_encrypted(
    client: httpx.AsyncClient, store: StateStore, publisher: RecordingPublisher
) -> None:
    body = urlencode([("name", "callback.verify"), ("object_id", "2002"), ("verifier", "v-42")])
    answer = await client.post(
        "/webhooks/freshbooks/fb-1",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "verifier_recorded", "callback_id": "2002"}
    vault: Vault = store.test_vault  # type: ignore[attr-defined]
    async with store.transaction() as tx:
        stored = await tx.credentials.get("fb-1", "webhook_verifier:2002")
        audit = await tx.audit_log.list(subject="webhook:freshbooks/fb-1")
    assert stored is not None
    assert "v-42" not in stored.token
    assert vault.decrypt(stored.token, connection_id="fb-1", field="webhook_verifier:2002") == (
        "v-42"
    )
    assert [entry.action for entry in audit] == ["webhook.handshake"]
    assert "v-42" not in json.dumps(audit[0].detail)
    assert publisher.published == []


def _handshake_form(callback_id: str, verifier: str = "v-forged") -> dict[str, Any]:
    body = urlencode(
        [("name", "callback.verify"), ("object_id", callback_id), ("verifier", verifier)]
    )
    return {"content": body, "headers": {"content-type": "application/x-www-form-urlencoded"}}


async def _credential_fields(store: StateStore, connection_id: str) -> list[str]:
    async with store.transaction() as tx:
        return sorted(c.field for c in await tx.credentials.list(connection_id=connection_id))


@pytest.mark.parametrize(
    ("callback_id", "why"),
    [
        ("3003", "never registered by us"),
        ("2001", "already confirmed: its secret stands"),
    ],
)
async def test_a_handshake_we_are_not_waiting_for_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, store: StateStore, callback_id: str, why: str
) -> None:
    before = await _credential_fields(store, "fb-1")
    answer = await client.post("/webhooks/freshbooks/fb-1", **_handshake_form(callback_id))
    assert answer.status_code == 404, why
    assert answer.json()["error"] == "unknown_callback"
    assert await _credential_fields(store, "fb-1") == before
    [refusal] = await refusals(store)
    assert refusal.detail["reason"] == "unknown_callback"


@pytest.mark.parametrize(
    "callback_id", ["../../users/me", "2002?x=1", "2002%2F..%2Fusers", "2002/3", " 2002", ""]
)
async def test_a_handshake_whose_callback_id_is_not_freshbooks_shaped_is_a_400(
    client: httpx.AsyncClient, store: StateStore, callback_id: str
) -> None:
    before = await _credential_fields(store, "fb-1")
    answer = await client.post("/webhooks/freshbooks/fb-1", **_handshake_form(callback_id))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "bad_handshake"
    assert await _credential_fields(store, "fb-1") == before


async def test_any_callback_id_is_awaited_while_our_registration_call_is_under_way(
    client: httpx.AsyncClient, store: StateStore
) -> None:
    # FreshBooks may send the handshake before it answered the registration with the id.
    vault: Vault = store.test_vault  # type: ignore[attr-defined]
    registering = {"state": "registering", "since": NOW.isoformat(), "ids": []}
    await add_connection(
        store, vault, vendor="freshbooks", connection_id="fb-2",
        settings={REGISTRATION_KEY: registering},
    )  # fmt: skip
    answer = await client.post("/webhooks/freshbooks/fb-2", **_handshake_form("4004", "v-1"))
    assert answer.status_code == 200, answer.text
    assert await _credential_fields(store, "fb-2") == ["webhook_verifier:4004"]


async def test_a_stale_registering_mark_no_longer_opens_the_door(
    client: httpx.AsyncClient, store: StateStore
) -> None:
    vault: Vault = store.test_vault  # type: ignore[attr-defined]
    crashed = {"state": "registering", "since": "2026-02-03T09:00:00+00:00", "ids": []}
    await add_connection(
        store, vault, vendor="freshbooks", connection_id="fb-3",
        settings={REGISTRATION_KEY: crashed},
    )  # fmt: skip
    answer = await client.post("/webhooks/freshbooks/fb-3", **_handshake_form("4004"))
    assert answer.status_code == 404
    assert await _credential_fields(store, "fb-3") == []


async def test_handshakes_past_the_per_connection_budget_are_429_with_retry_after(
    client: httpx.AsyncClient, store: StateStore
) -> None:
    answers = [
        await client.post("/webhooks/freshbooks/fb-1", **_handshake_form(str(5000 + n)))
        for n in range(12)
    ]
    assert [a.status_code for a in answers] == [404] * 10 + [429] * 2
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[-1].json()["error"] == "too_many_handshakes"
    # The genuine one, now too, waits for the next minute: the budget is per connection.
    genuine = await client.post("/webhooks/freshbooks/fb-1", **_handshake_form("2002", "v-42"))
    assert genuine.status_code == 429


async def test_a_freshbooks_callback_signed_with_its_callbacks_verifier_is_published(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    fields = [("name", "bill.create"), ("object_id", "4821"), ("account_id", "Ab12C")]
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-freshbooks-hmac-sha256": freshbooks_signature(FRESHBOOKS_VERIFIER, fields),
    }
    answer = await client.post(
        "/webhooks/freshbooks/fb-1", content=urlencode(fields), headers=headers
    )
    assert answer.status_code == 200, answer.text
    [(event, topic)] = publisher.published
    assert topic == "raw.freshbooks"
    assert event.body == urlencode(fields)
    assert "x-freshbooks-hmac-sha256" not in event.headers


async def test_a_zoho_delivery_signed_over_its_query_and_body_is_published(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    body = b'{"contact":{"contact_id":"46"}}'
    query = [("org", "acme"), ("event", "contact.updated")]
    headers = {
        "content-type": "application/json",
        "x-zoho-webhook-signature": zoho_signature(ZOHO_SECRET, query, body),
    }
    answer = await client.post(
        "/webhooks/zoho/zoho-1?" + urlencode(query), content=body, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert [topic for _, topic in publisher.published] == ["raw.zoho"]


async def test_a_secret_the_key_ring_cannot_open_answers_503_not_a_refusal(
    client: httpx.AsyncClient, store: StateStore, publisher: RecordingPublisher
) -> None:
    other_ring = new_vault()  # a key the service's vault does not hold
    token = other_ring.encrypt(BAMBOO_SECRET, connection_id="hr-1", field=SECRET_FIELD)
    async with store.transaction() as tx:
        await tx.credentials.put("hr-1", SECRET_FIELD, token=token, key_id="k1")
    answer = await client.post(HR, content=EMPLOYEE_UPDATED, headers=_bamboo())
    assert answer.status_code == 503
    assert answer.json()["error"] == "secret_unreadable"
    assert answer.headers["retry-after"] == "30"
    assert BAMBOO_SECRET not in answer.text
    assert await refusals(store) == []
    assert publisher.published == []


def _employee_updated(n: int) -> bytes:
    """A distinct delivery each time (the ledger would call a repeat a duplicate)."""
    return EMPLOYEE_UPDATED.replace(b'"data":{}', b'"data":{"n":%d}' % n)


async def _put_secret(store: StateStore, connection_id: str, field: str, secret: str) -> None:
    vault: Vault = store.test_vault  # type: ignore[attr-defined]
    token = vault.encrypt(secret, connection_id=connection_id, field=field)
    async with store.transaction() as tx:
        await tx.credentials.put(connection_id, field, token=token, key_id=Vault.key_id_of(token))


async def test_a_secret_rotated_since_the_kept_read_is_accepted_at_once(
    client: httpx.AsyncClient, store: StateStore, publisher: RecordingPublisher
) -> None:
    first = await client.post(
        HR, content=_employee_updated(1), headers=_bamboo(_employee_updated(1))
    )
    assert first.json()["status"] == "accepted"  # the connection and its secret are now kept
    await _put_secret(store, "hr-1", SECRET_FIELD, "a-rotated-secret")
    body = _employee_updated(2)
    headers = bamboohr_headers(body, secret="a-rotated-secret", timestamp=STAMP)
    answer = await client.post(HR, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert len(publisher.published) == 2
    # And the old secret, no longer stored, is refused once the kept read was replaced.
    old = _employee_updated(3)
    refused = await client.post(HR, content=old, headers=_bamboo(old))
    assert (refused.status_code, refused.json()["error"]) == (401, "bad_signature")


@pytest.mark.parametrize(("keep_seconds", "after_revoking"), [(60.0, 200), (0.0, 401)])
async def test_a_kept_read_serves_the_next_deliveries_for_its_time_only(
    store: StateStore, publisher: RecordingPublisher, keep_seconds: float, after_revoking: int
) -> None:
    # The documented price of keeping: a secret revoked less than the keep ago still opens.
    intake = WebhookIntake(
        store=store,
        vault=store.test_vault,  # type: ignore[attr-defined]
        publish=publisher,
        settings=test_settings(webhook_connection_keep_seconds=keep_seconds),
        clock=lambda: NOW,
    )
    transport = httpx.ASGITransport(app=Starlette(routes=webhook_routes(intake)))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as http:
        first = await http.post(
            HR, content=_employee_updated(1), headers=_bamboo(_employee_updated(1))
        )
        assert first.status_code == 200
        async with store.transaction() as tx:
            assert await tx.credentials.delete("hr-1", SECRET_FIELD)
        body = _employee_updated(2)
        answer = await http.post(HR, content=body, headers=_bamboo(body))
    await intake.aclose()
    assert answer.status_code == after_revoking, answer.text


async def test_a_handshake_reads_the_connection_afresh_not_the_kept_read(
    client: httpx.AsyncClient, store: StateStore
) -> None:
    # A delivery made the edge keep fb-1 while callback 2005 was not yet registered.
    fields = [("name", "bill.create"), ("object_id", "9"), ("account_id", "Ab12C")]
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-freshbooks-hmac-sha256": freshbooks_signature(FRESHBOOKS_VERIFIER, fields),
    }
    delivered = await client.post(
        "/webhooks/freshbooks/fb-1", content=urlencode(fields), headers=headers
    )
    assert delivered.status_code == 200, delivered.text
    async with store.transaction() as tx:
        await tx.connections.update(
            "fb-1",
            settings={REGISTRATION_KEY: {"state": "registered", "ids": ["2001", "2005"]}},
        )
    answer = await client.post("/webhooks/freshbooks/fb-1", **_handshake_form("2005", "v-5"))
    assert answer.status_code == 200, answer.text
    assert "webhook_verifier:2005" in await _credential_fields(store, "fb-1")
