"""BILL webhooks: subscriptions, signed notifications, the pay-bill action (sheet 11)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from sandboxes.bill.app import BillSandbox
from sandboxes.bill.settings import BillSandboxSettings
from sandboxes.kit import wait_until
from tests.sandboxes.bill.bill_helpers import (
    ADOBE_BILL,
    ADOBE_VENDOR,
    API,
    EVENTS,
    idempotent,
    login,
    single_error,
)
from tests.sandboxes.sandbox_harness import Connector, WebhookReceiver

SUBSCRIPTION = {
    "name": "AP sync",
    "status": {"enabled": True},
    "events": [
        {"type": "bill.created", "version": "1"},
        {"type": "bill.updated", "version": "1"},
        {"type": "payment.updated", "version": "1"},
    ],
    "notificationUrl": "https://hooks.example.com/bill",
}


def expected_signature(body: bytes, security_key: str) -> str:
    """Computed here from the sheet, independently of the sandbox's signer."""
    return base64.b64encode(
        hmac.new(security_key.encode("utf-8"), body, hashlib.sha256).digest()
    ).decode()


async def subscribe(client: httpx.AsyncClient, headers: dict[str, str], receiver_url: str) -> str:
    """Create the subscription and route deliveries to the local receiver; answer the key."""
    created = await client.post(
        f"{EVENTS}/subscriptions", json=SUBSCRIPTION, headers=idempotent(headers)
    )
    assert created.status_code == 200, created.text
    await client.post("/_sandbox/webhooks", json={"url": receiver_url})
    key: str = created.json()["securityKey"]
    return key


async def test_a_subscription_needs_an_idempotency_key_and_shows_its_key_once(
    connect: Connector,
) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        missing = await client.post(f"{EVENTS}/subscriptions", json=SUBSCRIPTION, headers=headers)
        assert missing.status_code == 400
        single_error(missing)
        with_key = idempotent(headers)
        created = await client.post(f"{EVENTS}/subscriptions", json=SUBSCRIPTION, headers=with_key)
        assert created.status_code == 200
        body = created.json()
        assert {
            "id",
            "name",
            "organizationId",
            "status",
            "events",
            "notificationUrl",
            "createdTime",
            "updatedTime",
            "securityKey",
        } <= set(body)
        replayed = await client.post(f"{EVENTS}/subscriptions", json=SUBSCRIPTION, headers=with_key)
        assert replayed.json() == body
        read = await client.get(f"{EVENTS}/subscriptions/{body['id']}", headers=headers)
        assert "securityKey" not in read.json()
        listed = await client.get(f"{EVENTS}/subscriptions", headers=headers)
        assert [s["id"] for s in listed.json()["results"]] == [body["id"]]


async def test_a_subscription_refuses_plain_http_and_duplicates(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        plain = {**SUBSCRIPTION, "notificationUrl": "http://hooks.example.com/bill"}
        answer = await client.post(
            f"{EVENTS}/subscriptions", json=plain, headers=idempotent(headers)
        )
        assert answer.status_code == 400
        first = await client.post(
            f"{EVENTS}/subscriptions", json=SUBSCRIPTION, headers=idempotent(headers)
        )
        assert first.status_code == 200
        duplicate = await client.post(
            f"{EVENTS}/subscriptions", json=SUBSCRIPTION, headers=idempotent(headers)
        )
        assert duplicate.status_code == 400


async def test_a_new_bill_is_notified_signed_with_the_security_key(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        key = await subscribe(client, headers, webhook_receiver.url)
        created = await client.post(
            f"{API}/bills",
            json={
                "vendorId": "00901FIGMAINC00010XX",
                "dueDate": "2026-12-31",
                "invoice": {"invoiceNumber": "FG-1", "invoiceDate": "2026-12-01"},
                "billLineItems": [{"amount": 45.0}],
            },
            headers=headers,
        )
        await wait_until(lambda: len(webhook_receiver.received) == 1, timeout_seconds=30)
        delivery = webhook_receiver.received[0]
        assert delivery.headers["x-bill-sha-signature"] == expected_signature(delivery.body, key)
        document = json.loads(delivery.body)
        assert document["metadata"]["eventType"] == "bill.created"
        assert document["metadata"]["organizationId"].startswith("008")
        assert document["bill"] == created.json()
        assert b" " not in delivery.body.replace(b"Figma, Inc.", b"")  # minified JSON


async def test_a_rotated_key_signs_the_next_notifications(
    in_process: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        old_key = await subscribe(client, headers, webhook_receiver.url)
        subscription_id = (await client.get(f"{EVENTS}/subscriptions", headers=headers)).json()[
            "results"
        ][0]["id"]
        rotated = await client.post(
            f"{EVENTS}/subscriptions/{subscription_id}/security_key", headers=idempotent(headers)
        )
        new_key = rotated.json()["securityKey"]
        assert new_key != old_key
        test = await client.post(
            f"{EVENTS}/subscriptions/{subscription_id}/test",
            json={"eventType": "bill.created", "version": "1", "bill": {"id": "test-bill-id"}},
            headers=headers,
        )
        assert test.status_code == 200
        assert json.loads(test.json()["payload"])["bill"] == {"id": "test-bill-id"}
        await wait_until(lambda: len(webhook_receiver.received) == 1, timeout_seconds=30)
        delivery = webhook_receiver.received[0]
        assert delivery.headers["x-bill-sha-signature"] == expected_signature(
            delivery.body, new_key
        )
        assert delivery.headers["x-bill-sha-signature"] != expected_signature(
            delivery.body, old_key
        )


async def test_paying_a_bill_schedules_then_clears_it_and_notifies_each_step(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        key = await subscribe(client, headers, webhook_receiver.url)
        paid = await client.post("/_sandbox/actions/pay_bill", json={"bill_id": ADOBE_BILL})
        assert paid.status_code == 200
        payment = paid.json()
        assert payment["status"] == "SCHEDULED"
        bill = (await client.get(f"{API}/bills/{ADOBE_BILL}", headers=headers)).json()
        assert bill["paymentStatus"] == "SCHEDULED"
        assert bill["scheduledAmount"] == 659.88
        await wait_until(lambda: len(webhook_receiver.received) == 2, timeout_seconds=30)
        first = [json.loads(d.body) for d in webhook_receiver.received]
        assert [d["metadata"]["eventType"] for d in first] == ["payment.updated", "bill.updated"]
        assert first[0]["payment"]["id"] == payment["id"]
        assert first[0]["payment"]["billIds"] == [ADOBE_BILL]
        assert first[0]["payment"]["status"] == "SCHEDULED"

        await client.post("/_sandbox/clock", json={"advance_seconds": 3 * 24 * 3600})
        headers = await login(client)  # the session idled out meanwhile
        cleared = (await client.get(f"{API}/payments/{payment['id']}", headers=headers)).json()
        assert cleared["status"] == "PAID"
        assert cleared["singleStatus"] == "CLEARED"
        bill = (await client.get(f"{API}/bills/{ADOBE_BILL}", headers=headers)).json()
        assert bill["paymentStatus"] == "PAID"
        assert bill["paidAmount"] == 659.88
        assert bill["dueAmount"] == 0
        await wait_until(lambda: len(webhook_receiver.received) == 4, timeout_seconds=30)
        later = [json.loads(d.body) for d in webhook_receiver.received[2:]]
        assert {d["metadata"]["eventType"] for d in later} == {"payment.updated", "bill.updated"}
        payment_event = next(d for d in later if "payment" in d)
        assert payment_event["payment"]["singleStatus"] == "CLEARED"
        for delivery in webhook_receiver.received:
            assert delivery.headers["x-bill-sha-signature"] == expected_signature(
                delivery.body, key
            )


async def test_a_failed_delivery_is_retried_and_kept_in_the_event_history(
    in_process: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        await subscribe(client, headers, webhook_receiver.url)
        webhook_receiver.answers = [500]
        await client.post(
            "/_sandbox/actions/create_bill",
            json={
                "vendorId": "00901FIGMAINC00010XX",
                "dueDate": "2026-12-31",
                "invoice": {"invoiceNumber": "FG-2", "invoiceDate": "2026-12-01"},
                "billLineItems": [{"amount": 12.5}],
            },
        )

        async def failed_attempt() -> dict[str, object] | None:
            deliveries = (await client.get("/_sandbox/webhooks")).json()["deliveries"]
            return next((d for d in deliveries if d["outcome"] == "failed"), None)

        # The retry is scheduled on the sandbox clock once the failure is recorded.
        failed: dict[str, object] = await wait_until(failed_attempt, timeout_seconds=30)
        assert failed["status"] == 500
        await client.post("/_sandbox/clock", json={"advance_seconds": 61})
        await wait_until(lambda: len(webhook_receiver.received) == 2, timeout_seconds=30)
        assert webhook_receiver.received[0].body == webhook_receiver.received[1].body
        headers = await login(client)
        subscription_id = json.loads(webhook_receiver.received[0].body)["metadata"][
            "subscriptionId"
        ]

        async def retried_ok() -> list[dict[str, Any]] | None:
            history = await client.get(
                f"{EVENTS}/events/subscription/{subscription_id}", headers=headers
            )
            found: list[dict[str, Any]] = history.json()["results"]
            return found if found and found[0]["statusCode"] == 200 else None

        # The receiver has the retry as soon as it arrives; the sandbox records the attempt's
        # answer only once it came back, so the history is read until it has.
        events = await wait_until(retried_ok, timeout_seconds=30)
        assert [e["type"] for e in events] == ["bill.created"]
        assert json.loads(events[0]["payload"]) == json.loads(webhook_receiver.received[0].body)
        resent = await client.post(
            f"{EVENTS}/events/subscription/{subscription_id}/event/{events[0]['id']}",
            headers=headers,
        )
        assert resent.status_code == 200
        await wait_until(lambda: len(webhook_receiver.received) == 3, timeout_seconds=30)


async def test_the_event_catalog_lists_bill_and_payment_events(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        catalog = (await client.get(f"{EVENTS}/events/catalog", headers=headers)).json()
        types = {entry["type"] for entry in catalog}
        assert {"bill.created", "payment.updated", "vendor.archived"} <= types
        assert "payment.created" not in types


async def test_the_body_as_an_escaped_json_string_is_a_setting(
    in_process: Connector, webhook_receiver: WebhookReceiver
) -> None:
    settings = BillSandboxSettings(webhook_body="string")
    async with in_process(BillSandbox(settings=settings)) as client:
        headers = await login(client)
        key = await subscribe(client, headers, webhook_receiver.url)
        await client.post("/_sandbox/actions/pay_bill", json={"bill_id": ADOBE_BILL})
        await wait_until(lambda: len(webhook_receiver.received) == 2, timeout_seconds=30)
        delivery = webhook_receiver.received[0]
        assert delivery.headers["x-bill-sha-signature"] == expected_signature(delivery.body, key)
        inner = json.loads(json.loads(delivery.body))
        assert inner["metadata"]["eventType"] == "payment.updated"


async def test_archiving_a_vendor_notifies_vendor_archived_to_its_subscribers_only(
    in_process: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        created = await client.post(
            f"{EVENTS}/subscriptions",
            json={**SUBSCRIPTION, "events": [{"type": "vendor.archived", "version": "1"}]},
            headers=idempotent(headers),
        )
        key = created.json()["securityKey"]
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.patch(f"{API}/vendors/{ADOBE_VENDOR}", json={"phone": "1"}, headers=headers)
        await client.post(f"{API}/vendors/{ADOBE_VENDOR}/archive", headers=headers)
        await wait_until(lambda: len(webhook_receiver.received) == 1, timeout_seconds=30)
        delivery = webhook_receiver.received[0]
        document = json.loads(delivery.body)
        assert document["metadata"]["eventType"] == "vendor.archived"
        assert document["vendor"]["id"] == ADOBE_VENDOR
        assert document["vendor"]["archived"] is True
        assert delivery.headers["x-bill-sha-signature"] == expected_signature(delivery.body, key)
        history = await client.get(
            f"{EVENTS}/events/subscription/{created.json()['id']}",
            params={"entityId": ADOBE_VENDOR},
            headers=headers,
        )
        assert [e["type"] for e in history.json()["results"]] == ["vendor.archived"]
