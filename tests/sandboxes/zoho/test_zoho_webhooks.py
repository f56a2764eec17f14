"""Workflow webhooks fired by contact changes, written from sheet section 9.

Books' signature scheme is not documented (open question 3); the default is Zoho Billing's
documented one, and every signature here is recomputed with a plain HMAC in the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from sandboxes.kit import wait_until
from sandboxes.zoho.app import ZohoSandbox
from sandboxes.zoho.settings import ZohoSandboxSettings
from sandboxes.zoho.signing import billing_message, sign
from tests.sandboxes.sandbox_harness import Connector, WebhookReceiver, run_in_process
from tests.sandboxes.zoho.zoho_helpers import LIAM, Session, sign_in

SECRET = "s3cretKey4Books2026"


def _billing_signature(query: list[tuple[str, str]], body: bytes, secret: str = SECRET) -> str:
    text = "".join(f"{k}{v}" for k, v in sorted(query))
    return hmac.new(secret.encode(), text.encode() + body, hashlib.sha256).hexdigest()


async def _register(
    client: httpx.AsyncClient, s: Session, url: str, **extra: Any
) -> dict[str, Any]:
    answer = await client.post(
        f"{s.base}/settings/webhooks",
        params=s.org,
        headers=s.headers,
        json={
            "webhook_name": "ml-connector contacts",
            "entity": "contact",
            "url": url,
            "method": "POST",
            "events": ["create", "edit", "delete"],
            "secret": SECRET,
            "query_parameters": [{"param_name": "source", "param_value": "zoho"}],
            **extra,
        },
    )
    assert answer.status_code == 201, answer.text
    hook: dict[str, Any] = answer.json()["webhook"]
    return hook


async def _liam_id(client: httpx.AsyncClient, s: Session) -> str:
    found = await client.get(
        f"{s.base}/contacts", params={**s.org, "email": LIAM}, headers=s.headers
    )
    return str(found.json()["contacts"][0]["contact_id"])


async def _recorded(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """The sandbox's own record of its deliveries, once `count` are recorded."""

    async def recorded() -> list[dict[str, Any]] | None:
        state = (await client.get("/_sandbox/webhooks")).json()
        deliveries: list[dict[str, Any]] = state["deliveries"]
        return deliveries if len(deliveries) >= count and state["pending"] == 0 else None

    return await wait_until(recorded, timeout_seconds=30, message=f"{count} deliveries")


def test_the_signer_matches_an_independent_hmac_of_the_billing_scheme() -> None:
    body = b'{"contact":{"contact_id":"1"}}'
    message = billing_message(params=[("z", "1"), ("a", "2")], form=[], body=body)
    assert message == b"a2z1" + body
    expected = hmac.new(b"key1234567890", b"a2z1" + body, hashlib.sha256)
    assert sign(secret="key1234567890", message=message) == expected.hexdigest()
    assert sign(secret="key1234567890", message=message, encoding="base64") == (
        base64.b64encode(expected.digest()).decode()
    )


async def test_the_webhook_settings_api_keeps_the_secret_write_only(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        hook = await _register(client, s, "https://hooks.example.com/zoho")
        assert hook["has_secret"] is True
        assert "secret" not in hook
        listed = (
            await client.get(f"{s.base}/settings/webhooks", params=s.org, headers=s.headers)
        ).json()["webhooks"]
        assert [h["webhook_id"] for h in listed] == [hook["webhook_id"]]
        short = await client.post(
            f"{s.base}/settings/webhooks",
            params=s.org,
            headers=s.headers,
            json={"webhook_name": "x", "url": "https://h.example", "secret": "short"},
        )
        assert short.json() == {"code": 2, "message": "Invalid value passed for secret"}
        gone = await client.delete(
            f"{s.base}/settings/webhooks/{hook['webhook_id']}", params=s.org, headers=s.headers
        )
        assert gone.json()["code"] == 0


async def test_editing_a_contact_in_the_ui_fires_a_signed_default_payload(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await _register(client, s, webhook_receiver.url)
        liam = await _liam_id(client, s)
        edited = await client.post(
            "/_sandbox/actions/edit_contact",
            json={"contact_id": liam, "changes": {"notes": "Promoted"}},
        )
        assert edited.status_code == 200
        await wait_until(lambda: len(webhook_receiver.received) == 1, timeout_seconds=30)
        delivery = webhook_receiver.received[0]
        assert delivery.headers["content-type"] == "application/json"
        payload = json.loads(delivery.body)
        assert payload["contact"]["contact_id"] == liam
        assert payload["contact"]["notes"] == "Promoted"
        assert payload["contact"]["contact_persons"][0]["email"] == LIAM
        query = (await _recorded(client, 1))[0]["url"]
        pairs = parse_qsl(urlsplit(query).query)
        assert pairs == [("source", "zoho")]
        assert delivery.headers["x-zoho-webhook-signature"] == _billing_signature(
            pairs, delivery.body
        )


async def test_mark_inactive_create_and_delete_fire_their_events(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await _register(client, s, webhook_receiver.url, events=["create", "delete"])
        liam = await _liam_id(client, s)
        await client.post("/_sandbox/actions/mark_inactive", json={"contact_id": liam})
        created = await client.post(
            "/_sandbox/actions/create_contact", json={"contact": {"contact_name": "Walk-in Client"}}
        )
        new_id = created.json()["contact"]["contact_id"]
        assert created.json()["contact"]["source"] == "user"
        await client.delete(f"{s.base}/contacts/{new_id}", params=s.org, headers=s.headers)
        await wait_until(lambda: len(webhook_receiver.received) == 2, timeout_seconds=30)
        tags = [d["tag"] for d in await _recorded(client, 2)]
        assert tags == ["contact.create", "contact.delete"]  # no rule on edit: no delivery
        contact = json.loads(webhook_receiver.received[0].body)["contact"]
        assert contact["contact_name"] == "Walk-in Client"


async def test_form_and_raw_bodies_fill_placeholders_and_sign_form_pairs(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await _register(
            client,
            s,
            webhook_receiver.url,
            query_parameters=[],
            body_type="application/x-www-form-urlencoded",
            form_data=[
                {"param_name": "id", "param_value": "${contact.contact_id}"},
                {"param_name": "email", "param_value": "${contact.email}"},
            ],
        )
        liam = await _liam_id(client, s)
        await client.post("/_sandbox/actions/mark_inactive", json={"contact_id": liam})
        await wait_until(lambda: len(webhook_receiver.received) == 1, timeout_seconds=30)
        delivery = webhook_receiver.received[0]
        form = parse_qsl(delivery.body.decode())
        assert form == [("id", liam), ("email", LIAM)]
        # Form pairs are signed as key/value pairs; there is no raw body to append.
        assert delivery.headers["x-zoho-webhook-signature"] == _billing_signature(form, b"")


async def test_the_signature_scheme_header_and_encoding_are_settings(
    webhook_receiver: WebhookReceiver,
) -> None:
    settings = ZohoSandboxSettings(
        webhook_signature_scheme="body",
        webhook_signature_header="X-Books-Signature",
        webhook_signature_encoding="base64",
    )
    async with run_in_process(ZohoSandbox(settings=settings)) as client:
        s = await sign_in(client)
        await _register(client, s, webhook_receiver.url)
        await client.post(
            "/_sandbox/actions/edit_contact",
            json={
                "contact_id": await _liam_id(client, s),
                "changes": {"website": "https://liam.example"},
            },
        )
        await wait_until(lambda: len(webhook_receiver.received) == 1, timeout_seconds=30)
        delivery = webhook_receiver.received[0]
        digest = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).digest()
        assert delivery.headers["x-books-signature"] == base64.b64encode(digest).decode()
        assert "x-zoho-webhook-signature" not in delivery.headers


async def test_a_failed_delivery_is_retried_on_the_configured_schedule(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await _register(client, s, webhook_receiver.url)
        webhook_receiver.answers = [503]
        await client.post(
            "/_sandbox/actions/mark_active", json={"contact_id": await _liam_id(client, s)}
        )

        async def statuses_when(expected: list[int | None]) -> list[int | None] | None:
            deliveries = (await client.get("/_sandbox/webhooks")).json()["deliveries"]
            statuses: list[int | None] = [d["status"] for d in deliveries]
            return statuses if statuses == expected else None

        async def failed_once() -> list[int | None] | None:
            return await statuses_when([503])

        async def retried_once() -> list[int | None] | None:
            return await statuses_when([503, 200])

        first: list[int | None] = await wait_until(failed_once, timeout_seconds=30)
        assert first == [503]
        await client.post("/_sandbox/clock", json={"advance_seconds": 300})
        retried: list[int | None] = await wait_until(retried_once, timeout_seconds=30)
        assert retried == [503, 200]
        bodies = {r.body for r in webhook_receiver.received}
        assert len(bodies) == 1  # the retry sends the same bytes


async def test_adding_an_option_in_the_ui_changes_the_list_and_fires_nothing(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        await _register(client, s, webhook_receiver.url)
        added = await client.post(
            "/_sandbox/actions/add_option", json={"tag": "Job Title", "option": "Motion Designer"}
        )
        names = [o["tag_option_name"] for o in added.json()["reporting_tag"]["tag_options"]]
        assert names[-1] == "Motion Designer"
        twice = await client.post(
            "/_sandbox/actions/add_option", json={"tag": "Job Title", "option": "motion designer"}
        )
        assert twice.status_code == 400
        assert (await client.get("/_sandbox/webhooks")).json()["deliveries"] == []
