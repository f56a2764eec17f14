"""Callbacks, the verification handshake and signed deliveries, written from sheet section 8.

Signatures are checked with an HMAC computed here from the sheet's description (not with
the sandbox's signer), and the signer itself against the sheet's worked example.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

import httpx

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.seed import ACCOUNT_ID, BUSINESS_ID, IDENTITY_ID
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.freshbooks.signing import signature
from sandboxes.kit import wait_until
from tests.sandboxes.freshbooks.fb_helpers import ACCOUNTING, CALLBACKS, bearer
from tests.sandboxes.sandbox_harness import Connector, ReceivedWebhook, WebhookReceiver

HEADER = "x-freshbooks-hmac-sha256"


def _expected(verifier: str, body: bytes) -> str:
    """base64(HMAC-SHA256(verifier, json.dumps(form fields in body order)))."""
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    message = json.dumps(fields)  # default separators ", " and ": ", ASCII escaping
    digest = hmac.new(verifier.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_the_signer_reproduces_the_sheets_worked_example() -> None:
    fields = [("name", "bill.create"), ("object_id", "4821"), ("account_id", "Ab12C"),
              ("business_id", "77001"), ("identity_id", "90210"), ("user_id", "1")]  # fmt: skip
    assert (
        signature("scADVVexampleVerifier123", fields)
        == "dd/q5oeaHM66Jcdn8iEAERKMmPyXvn2czyc57FllhZk="
    )


async def _received(receiver: WebhookReceiver, count: int) -> list[ReceivedWebhook]:
    return await wait_until(
        lambda: receiver.received if len(receiver.received) >= count else None,
        timeout_seconds=30,
        message=f"{count} webhooks received",
    )


async def _register(
    client: httpx.AsyncClient, headers: dict[str, str], receiver: WebhookReceiver, event: str
) -> tuple[dict[str, Any], str]:
    """Create a callback, read the verifier from the handshake, verify it."""
    before = len(receiver.received)
    answer = await client.post(
        CALLBACKS, json={"callback": {"event": event, "uri": receiver.url}}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    callback: dict[str, Any] = answer.json()["response"]["result"]["callback"]
    handshake = (await _received(receiver, before + 1))[before]
    verifier = dict(parse_qsl(handshake.body.decode()))["verifier"]
    verified = await client.put(
        f"{CALLBACKS}/{callback['callbackid']}",
        json={"callback": {"verifier": verifier}},
        headers=headers,
    )
    assert verified.json()["response"]["result"]["callback"]["verified"] is True
    return callback, verifier


async def test_creating_a_callback_sends_the_handshake_form_and_waits_for_verification(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        answer = await client.post(
            CALLBACKS,
            json={"callback": {"event": "expense.create", "uri": webhook_receiver.url}},
            headers=headers,
        )
        callback = answer.json()["response"]["result"]["callback"]
        assert set(callback) == {"callbackid", "event", "uri", "verified", "updated_at"}
        assert callback["verified"] is False
        handshake = (await _received(webhook_receiver, 1))[0]
        assert handshake.headers["content-type"] == "application/x-www-form-urlencoded"
        form = dict(parse_qsl(handshake.body.decode()))
        assert form["object_id"] == str(callback["callbackid"])
        assert form["name"] == "callback.verify"
        assert handshake.headers[HEADER] == _expected(form["verifier"], handshake.body)
        # Unverified: an expense change delivers nothing.
        await client.post(
            "/_sandbox/actions/create_expense",
            json={"staffid": 2, "category": "Airfare", "amount": "10.00"},
        )
        wrong = await client.put(
            f"{CALLBACKS}/{callback['callbackid']}",
            json={"callback": {"verifier": "not-it"}},
            headers=headers,
        )
        assert wrong.status_code == 400
        assert wrong.json()["errno"] == 422

        async def settled() -> list[dict[str, Any]] | None:
            state: dict[str, Any] = (await client.get("/_sandbox/webhooks")).json()
            deliveries: list[dict[str, Any]] = state["deliveries"]
            return deliveries if state["pending"] == 0 and deliveries else None

        deliveries: list[dict[str, Any]] = await wait_until(
            settled, timeout_seconds=30, message="deliveries settled"
        )
        assert [d["tag"] for d in deliveries] == ["callback.verify"]


async def test_a_verified_callback_gets_thin_signed_deliveries_for_its_event(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        _, verifier = await _register(client, headers, webhook_receiver, "expense.create")
        created = await client.post(
            f"{ACCOUNTING}/expenses/expenses",
            json={"expense": {"amount": {"amount": "84.20", "code": "USD"}, "categoryid": 3026,
                              "staffid": 2, "date": "2026-03-02"}},
            headers=headers,
        )  # fmt: skip
        expense_id = created.json()["response"]["result"]["expense"]["id"]
        delivery = (await _received(webhook_receiver, 2))[1]
        assert (
            delivery.body
            == (
                f"name=expense.create&object_id={expense_id}&account_id={ACCOUNT_ID}"
                f"&business_id={BUSINESS_ID}&identity_id={IDENTITY_ID}&user_id=1"
            ).encode()
        )
        assert delivery.headers[HEADER] == _expected(verifier, delivery.body)
        # An update is another event; this callback is for creates only.
        await client.put(f"{ACCOUNTING}/expenses/expenses/{expense_id}",
                         json={"expense": {"notes": "x"}}, headers=headers)  # fmt: skip
        await client.post("/_sandbox/actions/create_expense",
                          json={"email": "grace.holloway@acmecreative.example",
                                "category": "Office Supplies", "amount": "12.50"})  # fmt: skip
        third = (await _received(webhook_receiver, 3))[2]
        assert dict(parse_qsl(third.body.decode()))["name"] == "expense.create"


async def test_deleting_with_vis_state_fires_delete_and_paying_a_bill_fires_bill_update(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        await _register(client, headers, webhook_receiver, "expense")  # every expense verb
        await _register(client, headers, webhook_receiver, "bill.update")
        await client.put(f"{ACCOUNTING}/expenses/expenses/401", json={"expense": {"vis_state": 1}},
                         headers=headers)  # fmt: skip
        paid = await client.post("/_sandbox/actions/pay_bill", json={"billid": 201})
        assert paid.status_code == 200
        deliveries = await _received(webhook_receiver, 4)
        names = [dict(parse_qsl(d.body.decode()))["name"] for d in deliveries[2:]]
        assert names == ["expense.delete", "bill.update"]
        bill = dict(parse_qsl(deliveries[3].body.decode()))
        assert bill["object_id"] == "201"


async def test_resend_issues_a_new_verifier_and_unverifies(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        callback, verifier = await _register(client, headers, webhook_receiver, "bill.create")
        resent = await client.put(f"{CALLBACKS}/{callback['callbackid']}",
                                  json={"callback": {"resend": True}}, headers=headers)  # fmt: skip
        assert resent.json()["response"]["result"]["callback"]["verified"] is False
        handshake = (await _received(webhook_receiver, 2))[1]
        assert dict(parse_qsl(handshake.body.decode()))["verifier"] != verifier


async def test_callbacks_list_by_event_noun_get_and_delete_with_204(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        for event in ("bill.create", "bill.update", "expense.create"):
            body = {"callback": {"event": event, "uri": webhook_receiver.url}}
            await client.post(CALLBACKS, json=body, headers=headers)
        listed = (await client.get(f"{CALLBACKS}?search[event]=bill", headers=headers)).json()
        result = listed["response"]["result"]
        assert [c["event"] for c in result["callbacks"]] == ["bill.create", "bill.update"]
        assert (result["page"], result["total"]) == (1, 2)
        first = result["callbacks"][0]["callbackid"]
        assert (await client.delete(f"{CALLBACKS}/{first}", headers=headers)).status_code == 204
        gone = await client.get(f"{CALLBACKS}/{first}", headers=headers)
        assert gone.status_code == 404
        assert gone.json() == {"errno": 404, "message": "Requested resource could not be found."}


async def test_an_invalid_event_or_uri_is_the_events_validation_error(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        answer = await client.post(
            CALLBACKS,
            json={"callback": {"event": "nothing.here", "uri": "not a url"}},
            headers=headers,
        )
        assert answer.status_code == 400
        assert answer.json()["errno"] == 422
        assert answer.json()["details"] == [
            "event: Value error, Unrecognized event.",
            "uri: Input should be a valid URL, relative URL without a base",
        ]
        unauthorised = await client.get(CALLBACKS)
        assert unauthorised.status_code == 401
        assert unauthorised.json() == {
            "errno": 401,
            "message": "invalid_token: The request token failed to authenticate or validate.",
        }


async def test_delivery_faults_duplicate_and_an_unsigned_handshake_is_a_setting(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    settings = FreshBooksSandboxSettings(sign_handshake=False)
    async with connect(FreshBooksSandbox(settings=settings)) as client:
        headers = await bearer(client)
        await _register(client, headers, webhook_receiver, "bill_vendor.create")
        assert HEADER not in webhook_receiver.received[0].headers
        await client.post("/_sandbox/webhooks", json={"duplicate": 1})
        await client.post("/_sandbox/actions/create_bill_vendor", json={"vendor_name": "Figma"})
        copies = (await _received(webhook_receiver, 3))[1:]
        assert copies[0].body == copies[1].body
        assert copies[0].headers[HEADER] == copies[1].headers[HEADER]


async def test_a_failed_delivery_is_retried_after_the_configured_delay_on_the_sandbox_clock(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        await _register(client, headers, webhook_receiver, "bill_vendor.create")
        webhook_receiver.answers = [500]
        await client.post("/_sandbox/actions/create_bill_vendor", json={"vendor_name": "Figma"})
        first = (await _received(webhook_receiver, 2))[1]

        async def failure_recorded() -> bool:
            # The receiver has the request before the sandbox has the 500 and schedules the
            # retry: moved on before that, the clock would not reach the retry's due time.
            answer = await client.get("/_sandbox/webhooks")
            return any(d["outcome"] == "failed" for d in answer.json()["deliveries"])

        await wait_until(failure_recorded, timeout_seconds=30, message="the failure recorded")
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        retried = (await _received(webhook_receiver, 3))[2]
        assert retried.body == first.body
        assert retried.headers[HEADER] == first.headers[HEADER]
