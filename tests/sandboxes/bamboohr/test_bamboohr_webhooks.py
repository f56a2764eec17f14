"""Webhooks: the registration API and signed deliveries, written from sheet section 11.

Signatures are checked with a plain HMAC computed here (not the sandbox's signer), and the
signer itself against the sheet's recorded test vector.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

import httpx

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from sandboxes.bamboohr.signing import sign
from sandboxes.kit import wait_until
from tests.sandboxes.bamboohr.bamboo_helpers import ACTIVE_EMPLOYEE, ADMIN, GATEWAY, MANAGER
from tests.sandboxes.sandbox_harness import Connector, WebhookReceiver

HTTPS_HOOK = "https://hooks.example.com/webhooks/bamboohr/conn-42"
MONITORED = ["firstName", "lastName", "workEmail", "jobTitle", "department", "division", "status",
             "employmentHistoryStatus"]  # fmt: skip


def _expected_signature(body: bytes, timestamp: str, key: str) -> str:
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


async def _register(
    client: httpx.AsyncClient, *, fmt: str = "json", events: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "name": "ml-connector people",
        "url": HTTPS_HOOK,
        "format": fmt,
        "events": events or ["employee.created", "employee.updated", "employee.deleted"],
        "monitorFields": MONITORED,
        **extra,
    }
    answer = await client.post(f"{GATEWAY}/webhooks", json=body, auth=ADMIN)
    assert answer.status_code == 201, answer.text
    hook: dict[str, Any] = answer.json()
    return hook


async def _deliveries(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]] | None:
        state = (await client.get("/_sandbox/webhooks")).json()
        records: list[dict[str, Any]] = state["deliveries"]
        return records if len(records) >= count and state["pending"] == 0 else None

    return await wait_until(arrived, timeout_seconds=30, message=f"{count} deliveries")


def test_the_signer_reproduces_the_sheets_recorded_vector() -> None:
    body = (
        b'{"employees":[{"changedFields":["First name"],"fields":{"Employee #":{"value":"300"},'
        b'"First name":{"value":"Tefi"},"Last name":{"value":"Adams"}},"id":"5"}]}'
    )
    signature = sign(
        body=body, timestamp="1658248023", private_key="123b929362d51613054f71e5e5d4bf2c"
    )
    assert signature == "56491dd9c2b352bc5f4fc627159aae20ddff9c8cb19f239a6de6771dc5310bac"


async def test_create_answers_201_with_the_private_key_once(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        hook = await _register(client)
        assert len(hook["privateKey"]) == 32
        assert hook["lastSent"] is None
        assert hook["events"] == ["employee.created", "employee.updated", "employee.deleted"]
        again = (await client.get(f"{GATEWAY}/webhooks/{hook['id']}", auth=ADMIN)).json()
        assert "privateKey" not in again
        listing = (await client.get(f"{GATEWAY}/webhooks", auth=ADMIN)).json()
        assert listing == {
            "webhooks": [
                {
                    "id": hook["id"],
                    "name": "ml-connector people",
                    "created": hook["created"],
                    "lastSent": None,
                    "url": HTTPS_HOOK,
                }
            ]
        }


async def test_omitted_events_mean_the_legacy_field_based_family(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        body = {
            "name": "legacy",
            "url": HTTPS_HOOK,
            "format": "json",
            "monitorFields": ["firstName"],
        }
        hook = (await client.post(f"{GATEWAY}/webhooks", json=body, auth=ADMIN)).json()
        assert sorted(hook["events"]) == [
            "employee_with_fields.created",
            "employee_with_fields.deleted",
            "employee_with_fields.updated",
        ]


async def test_invalid_registrations_are_400_with_issues(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        base = {"name": "x", "url": HTTPS_HOOK, "format": "json", "monitorFields": ["firstName"]}
        cases = [
            {**base, "url": "http://plain.example/hook"},
            {**base, "format": "xml"},
            {**base, "events": ["employee.updated", "employee_with_fields.updated"]},
            {k: v for k, v in base.items() if k != "monitorFields"},
        ]
        for case in cases:
            answer = await client.post(f"{GATEWAY}/webhooks", json=case, auth=ADMIN)
            assert answer.status_code == 400, case
            assert answer.json()["errors"][0]["issues"]


async def test_only_the_creator_may_see_change_or_delete_a_webhook(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        hook = await _register(client)
        url = f"{GATEWAY}/webhooks/{hook['id']}"
        foreign = await client.get(url, auth=MANAGER)
        assert foreign.status_code == 403
        assert "error" in foreign.json()["errors"]
        assert (await client.delete(url, auth=MANAGER)).status_code == 403
        assert (await client.get(f"{GATEWAY}/webhooks", auth=MANAGER)).json() == {"webhooks": []}
        deleted = await client.delete(url, auth=ADMIN)
        assert (deleted.status_code, deleted.text) == (200, "Web hook has been deleted.")
        assert (await client.get(url, auth=ADMIN)).status_code == 404


async def test_a_department_change_delivers_a_signed_lightweight_updated_event(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        hook = await _register(client, includeCompanyDomain=True)
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post(
            "/_sandbox/actions/change_department",
            json={"employeeId": ACTIVE_EMPLOYEE, "department": "Strategy"},
        )
        [record] = await _deliveries(client, 1)
        assert record["status"] == 200
        [received] = webhook_receiver.received
        payload = json.loads(received.body)
        assert payload["type"] == "employee.updated"
        assert payload["data"] == {
            "companyId": "12345",
            "employeeId": ACTIVE_EMPLOYEE,
            "changedFields": ["department"],
        }
        assert payload["timestamp"].endswith("Z")
        stamp = received.headers["x-bamboohr-timestamp"]
        assert stamp.isdigit()
        expected = _expected_signature(received.body, stamp, hook["privateKey"])
        assert received.headers["x-bamboohr-signature"] == expected
        assert received.headers["company-domain"] == "acme"
        assert received.headers["user-agent"].startswith("BambooHR-WebHooks/1.0")


async def test_hiring_fires_created_then_updated(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        await _register(client)
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        hired = await client.post(
            "/_sandbox/actions/hire",
            json={"firstName": "Ada", "lastName": "Byron", "department": "Engineering"},
        )
        await _deliveries(client, 2)
        payloads = [json.loads(r.body) for r in webhook_receiver.received]
        assert [p["type"] for p in payloads] == ["employee.created", "employee.updated"]
        assert payloads[0]["data"] == {"companyId": "12345", "employeeId": hired.json()["id"]}
        assert {"firstName", "lastName", "department", "status"} <= set(
            payloads[1]["data"]["changedFields"]
        )


async def test_termination_is_an_updated_event_with_status_fields(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        await _register(client)
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post("/_sandbox/actions/terminate", json={"employeeId": ACTIVE_EMPLOYEE})
        await _deliveries(client, 1)
        [payload] = [json.loads(r.body) for r in webhook_receiver.received]
        assert payload["type"] == "employee.updated"
        assert payload["data"]["changedFields"] == ["status", "employmentHistoryStatus"]


async def test_unmonitored_changes_fire_nothing(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        await _register(client)
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", json={"mobilePhone": "555"}, auth=ADMIN
        )
        await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", json={"firstName": "William"}, auth=ADMIN
        )
        await _deliveries(client, 1)
        assert [json.loads(r.body)["data"]["changedFields"] for r in webhook_receiver.received] == [
            ["firstName"]
        ]


async def test_form_encoded_deliveries_sign_the_raw_form_body(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        hook = await _register(client, fmt="form-encoded")
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post(
            "/_sandbox/actions/change_job_title",
            json={"employeeId": ACTIVE_EMPLOYEE, "jobTitle": "Art Director"},
        )
        await _deliveries(client, 1)
        [received] = webhook_receiver.received
        assert received.headers["content-type"] == "application/x-www-form-urlencoded"
        assert dict(parse_qsl(received.body.decode())) == {
            "type": "employee.updated",
            "timestamp": dict(parse_qsl(received.body.decode()))["timestamp"],
            "data[companyId]": "12345",
            "data[employeeId]": ACTIVE_EMPLOYEE,
            "data[changedFields][0]": "jobTitle",
        }
        stamp = received.headers["x-bamboohr-timestamp"]
        expected = _expected_signature(received.body, stamp, hook["privateKey"])
        assert received.headers["x-bamboohr-signature"] == expected


async def test_legacy_field_based_deliveries_carry_values_under_post_field_names(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        body = {
            "name": "legacy",
            "url": HTTPS_HOOK,
            "format": "json",
            "monitorFields": ["firstName"],
            "postFields": {"firstName": "First Name", "lastName": "Last Name"},
        }
        assert (await client.post(f"{GATEWAY}/webhooks", json=body, auth=ADMIN)).status_code == 201
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", json={"firstName": "William"}, auth=ADMIN
        )
        await _deliveries(client, 1)
        [employee] = json.loads(webhook_receiver.received[0].body)["employees"]
        assert employee["id"] == ACTIVE_EMPLOYEE
        assert employee["action"] == "Updated"
        assert employee["changedFields"] == ["First Name"]
        assert employee["fields"] == {
            "First Name": {"value": "William"},
            "Last Name": {"value": "Walsh"},
        }


async def test_5xx_is_retried_after_five_minutes_and_4xx_is_not_retried(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.answers = [503, 410]
    async with connect(BambooHRSandbox()) as client:
        await _register(client)
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post(
            "/_sandbox/actions/change_job_title",
            json={"employeeId": ACTIVE_EMPLOYEE, "jobTitle": "Art Director"},
        )
        await wait_until(lambda: webhook_receiver.received, timeout_seconds=30)

        async def first_recorded() -> bool | None:
            # The receiver has the request before the sandbox has recorded its answer and
            # scheduled the retry on its clock: the clock moves only after that.
            return bool((await client.get("/_sandbox/webhooks")).json()["deliveries"]) or None

        await wait_until(first_recorded, timeout_seconds=30, message="first attempt recorded")
        await client.post("/_sandbox/clock", json={"advance_seconds": 299})
        state = (await client.get("/_sandbox/webhooks")).json()
        assert [d["status"] for d in state["deliveries"]] == [503]
        assert state["pending"] == 1
        await client.post("/_sandbox/clock", json={"advance_seconds": 1})
        records = await _deliveries(client, 2)
        assert [(r["attempt"], r["status"]) for r in records] == [(1, 503), (2, 410)]
        await client.post("/_sandbox/clock", json={"advance_seconds": 10_000})
        assert len((await client.get("/_sandbox/webhooks")).json()["deliveries"]) == 2


async def test_dropped_duplicated_and_delayed_deliveries(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        await _register(client)
        await client.post(
            "/_sandbox/webhooks",
            json={"url": webhook_receiver.url, "drop": 1, "duplicate": 1, "delay_ms": 60_000},
        )
        for title in ("Art Director", "Designer"):
            await client.post(
                "/_sandbox/actions/change_job_title",
                json={"employeeId": ACTIVE_EMPLOYEE, "jobTitle": title},
            )
        state = (await client.get("/_sandbox/webhooks")).json()
        assert [d["outcome"] for d in state["deliveries"]] == ["dropped"]
        assert state["pending"] == 2
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        await _deliveries(client, 3)
        bodies = [r.body for r in webhook_receiver.received]
        assert len(bodies) == 2
        assert bodies[0] == bodies[1]


async def test_the_delivery_log_and_last_sent_reflect_deliveries(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        hook = await _register(client)
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post(
            "/_sandbox/actions/change_job_title",
            json={"employeeId": ACTIVE_EMPLOYEE, "jobTitle": "Art Director"},
        )
        await _deliveries(client, 1)
        log = (await client.get(f"{GATEWAY}/webhooks/{hook['id']}/log", auth=ADMIN)).json()
        assert [(e["statusCode"], e["employeeIds"]) for e in log] == [("200", [ACTIVE_EMPLOYEE])]
        described = (await client.get(f"{GATEWAY}/webhooks/{hook['id']}", auth=ADMIN)).json()
        assert described["lastSent"] == log[0]["lastAttempted"]


async def test_the_iso_timestamp_header_is_a_setting_and_still_signs_its_exact_bytes(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    settings = BambooHRSandboxSettings(webhook_timestamp_format="iso")
    async with connect(BambooHRSandbox(settings=settings)) as client:
        hook = await _register(client)
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post("/_sandbox/actions/terminate", json={"employeeId": ACTIVE_EMPLOYEE})
        await _deliveries(client, 1)
        [received] = webhook_receiver.received
        stamp = received.headers["x-bamboohr-timestamp"]
        assert stamp.endswith("+0000")
        expected = _expected_signature(received.body, stamp, hook["privateKey"])
        assert received.headers["x-bamboohr-signature"] == expected


async def test_a_rehire_is_an_updated_event_with_status_fields(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(BambooHRSandbox()) as client:
        await _register(client)
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post("/_sandbox/actions/terminate", json={"employeeId": ACTIVE_EMPLOYEE})
        await client.post("/_sandbox/actions/rehire", json={"employeeId": ACTIVE_EMPLOYEE})
        await _deliveries(client, 2)
        payloads = [json.loads(r.body) for r in webhook_receiver.received]
        assert [p["type"] for p in payloads] == ["employee.updated", "employee.updated"]
        assert "status" in payloads[1]["data"]["changedFields"]
