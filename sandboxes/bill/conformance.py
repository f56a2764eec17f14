"""BILL part of `make conformance`: replay BILL's own v3 Postman collection against the sandbox.

BILL publishes no recordings of ours to replay (Nango's BILL recordings cover only users and
roles, which our flows do not use: they are listed as out of scope), so the requests of the
official Postman collection (`../shared/reference/bill/`) are sent instead, with the
collection's `{{variables}}` bound to the default seed. Each in-scope request is compared
with its saved success example: status, content type, and the example's keys (of the object,
or of the first list result). Keys BILL leaves out when unpopulated count as missing, so the
notes name them. Read-only; never part of `make test`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sandboxes.bill.app import build_sandbox
from sandboxes.kit import build_app
from sandboxes.kit.conformance import CallResult, Conformance

__all__ = ["CONFORMANCE", "replay_bill"]

COLLECTION = Path("bill") / "BILL_v3_API.postman_collection.json"
IN_SCOPE = re.compile(
    r"^v3/(login(/session)?|logout"
    r"|vendors(/:vendorId(/archive|/restore)?)?"
    r"|bills(/:billId(/archive|/restore)?)?"
    r"|payments(/:paymentId)?"
    r"|classifications/(chart-of-accounts|accounting-classes|departments|locations)"
    r"(/:id(/archive|/restore)?)?"
    r"|events/catalog|events/subscription/:subscriptionId(/event/:eventId)?"
    r"|subscriptions(/:subscriptionId(/security_key|/test)?)?)$"
)


@dataclass
class Example:
    name: str
    method: str
    path: str
    query: dict[str, str]
    body: str | None
    idempotent: bool
    status: int
    content_type: str
    response: Any


def examples(collection: Path) -> Iterator[Example]:
    """Every request of the collection with its first saved 2xx example."""

    def walk(items: list[dict[str, Any]]) -> Iterator[Example]:
        for item in items:
            if "item" in item:
                yield from walk(item["item"])
                continue
            request = item["request"]
            url = request["url"]
            saved = [r for r in item.get("response", []) if 200 <= int(r.get("code", 0)) < 300]
            if not saved:
                continue
            example = saved[0]
            host = "".join(url.get("host", []))
            base = "/connect-events" if "webhook" in host else "/connect"
            headers = {h["key"]: h["value"] for h in example.get("header") or []}
            try:
                response = json.loads(example.get("body") or "null")
            except ValueError:
                response = None
            yield Example(
                name=item["name"],
                method=request["method"],
                path=base + "/" + "/".join(url.get("path", [])),
                query={
                    q["key"]: q.get("value") or ""
                    for q in url.get("query", [])
                    if not q.get("disabled")
                },
                body=(request.get("body") or {}).get("raw"),
                idempotent=any(h["key"] == "X-Idempotent-Key" for h in request.get("header", [])),
                status=int(example["code"]),
                content_type=headers.get("Content-Type", ""),
                response=response,
            )

    document = json.loads(collection.read_text(encoding="utf-8"))
    return walk(document["item"])


async def _bindings(client: httpx.AsyncClient, creds: dict[str, str]) -> dict[str, str]:
    """Log in, subscribe, pay a bill: every `{{variable}}` the in-scope requests use."""
    login = await client.post(
        "/connect/v3/login",
        json={
            "username": creds["username"],
            "password": creds["password"],
            "organizationId": creds["organization_id"],
            "devKey": creds["dev_key"],
            "rememberMeId": "conformance",
            "device": "conformance",
        },
    )
    session = login.json()["sessionId"]
    headers = {"devKey": creds["dev_key"], "sessionId": session}
    state = (await client.get("/_sandbox/state")).json()

    def first(collection: str) -> str:
        return str(state[collection][0]["id"])

    bill = state["bills"][0]
    subscription = await client.post(
        "/connect-events/v3/subscriptions",
        json={
            "name": "conformance",
            "events": [{"type": "bill.created", "version": "1"}],
            "notificationUrl": "https://hooks.example.com/conformance",
        },
        headers={**headers, "X-Idempotent-Key": str(uuid.uuid4())},
    )
    subscription_id = subscription.json()["id"]
    event = await client.post(
        f"/connect-events/v3/subscriptions/{subscription_id}/test",
        json={"eventType": "bill.created", "version": "1", "bill": {"id": bill["id"]}},
        headers=headers,
    )
    payment = await client.post(
        "/_sandbox/actions/pay_bill", json={"bill_id": bill["id"], "amount": 1.0}
    )
    return {
        "baseUrl": "",
        "webhookBaseUrl": "",
        "username": creds["username"],
        "password": creds["password"],
        "organization_id": creds["organization_id"],
        "developer_key": creds["dev_key"],
        "session_id": session,
        "vendor_id": bill["vendorId"],
        "bill_id": bill["id"],
        "bill_id01": bill["id"],
        "bill_id02": str(state["bills"][1]["id"]),
        "webhook_bill_id": bill["id"],
        "bill_line_item_id01": bill["billLineItems"][0]["id"],
        "bill_line_item_id02": bill["billLineItems"][0]["id"],
        "chart_of_accounts_id": first("chart_of_accounts"),
        "accounting_class_id": first("accounting_classes"),
        "department_id": first("departments"),
        "location_id": first("locations"),
        "org_bank_account_id": "bac01NORTHWINDOPCHK1",
        "payment_id": payment.json()["id"],
        "webhook_subscription_id": subscription_id,
        "webhook_event_id": event.json()["id"],
        "webhook_notification_url": "https://hooks.example.com/conformance-2",
    }


def _template(path: str) -> str:
    """`/v3/bills/:billId` -> `/v3/bills/{{bill_id}}` (classification ids by their kind)."""
    kind = re.search(r"/classifications/([a-z-]+)/:id", path)
    if kind is not None:
        path = path.replace(":id", "{{" + _CLASSIFICATION_VARIABLE[kind[1]] + "}}")
    return re.sub(r":(\w+)", lambda m: "{{" + _VARIABLE.get(m[1], m[1]) + "}}", path)


def _bind(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values.get(m[1], m[0]), text)


def _keys_of(body: object) -> set[str] | None:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return set(body["results"][0]) if body["results"] else None
    if isinstance(body, dict):
        return set(body)
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return set(body[0])
    return None


OMITTED_WHEN_UNPOPULATED = frozenset(
    {
        "parentId",
        "rppsId",
        "description",
        "remittanceEmail",
        "paymentPurpose",
        "cardFundingPurpose",
        "disbursementInfo",
        "statusCode",
    }
)
"""Optional keys live BILL leaves out when they have no value (sheet section 3): noted in the
results, not counted as a shape difference."""


def _compare(result: CallResult, example: Example, answer: httpx.Response) -> None:
    result.status = answer.status_code == example.status
    if not result.status:
        result.notes.append(
            f"status {answer.status_code} != example {example.status}: {answer.text[:120]}"
        )
    json_answer = "json" in answer.headers.get("content-type", "")
    result.content_type = json_answer == ("json" in example.content_type) or not answer.content
    wanted = _keys_of(example.response)
    actual = _keys_of(answer.json()) if json_answer else None
    if wanted is None or example.response == {}:
        result.shape = True  # the export documents no body (or an empty object) here
        return
    missing = sorted(wanted - (actual or set()))
    result.shape = not set(missing) - OMITTED_WHEN_UNPOPULATED
    if missing:
        result.notes.append(f"missing keys {missing}")


async def replay_bill(reference: Path) -> list[CallResult]:
    collection = reference / COLLECTION
    if not collection.exists():
        return []
    sandbox = build_sandbox()
    sandbox.limiter.policy = sandbox.limiter.policy.model_copy(update={"enabled": False})
    results: list[CallResult] = []
    transport = httpx.ASGITransport(app=build_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        for example in examples(collection):
            name = f"{example.method} {example.path}"
            if not IN_SCOPE.match(example.path.split("/", 2)[2]):
                results.append(CallResult(call=name, in_scope=False))
                continue
            await client.post("/_sandbox/reset")
            values = await _bindings(client, creds)
            path = _template(example.path)
            headers = {
                "devKey": values["developer_key"],
                "sessionId": values["session_id"],
                "Content-Type": "application/json",
            }
            if example.idempotent:
                headers["X-Idempotent-Key"] = str(uuid.uuid4())
            body = _bind(example.body, values) if example.body else None
            answer = await client.request(
                example.method,
                _bind(path, values),
                params={k: _bind(v, values) for k, v in example.query.items()},
                content=body,
                headers=headers,
            )
            result = CallResult(call=f"{name} ({example.name})", in_scope=True)
            _compare(result, example, answer)
            results.append(result)
    await sandbox.aclose()
    return results


_VARIABLE = {
    "vendorId": "vendor_id",
    "billId": "bill_id",
    "paymentId": "payment_id",
    "subscriptionId": "webhook_subscription_id",
    "eventId": "webhook_event_id",
}
_CLASSIFICATION_VARIABLE = {
    "chart-of-accounts": "chart_of_accounts_id",
    "accounting-classes": "accounting_class_id",
    "departments": "department_id",
    "locations": "location_id",
}


CONFORMANCE = Conformance(
    "bill/BILL_v3_API.postman_collection.json (official examples)", replay_bill
)
