"""FreshBooks part of `make conformance`: replay Nango's recorded FreshBooks calls.

In scope: identity (`/auth/api/v1/users/me`), expenses and expense categories; clients,
invoices, estimates, payments, projects and time entries are not used by our flows. The
recorded account id and record ids are mapped onto the default seed. Besides status and
content type, the shape check goes one level deeper than the generic one: every key of the
recorded record (or first list item) under `response[.result].<name>` must be present.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sandboxes.freshbooks.app import build_sandbox
from sandboxes.kit import build_app
from sandboxes.kit.conformance import CallResult, Conformance, Recorded, recordings

__all__ = ["CONFORMANCE", "replay_freshbooks"]

IN_SCOPE = re.compile(
    r"^/auth/api/v1/users/me$|^/accounting/account/[^/]+/expenses/(expenses|categories)(/\d+)?$"
)
SEED_EXPENSE = "401"
SEED_CATEGORY = 3026


async def _token(client: httpx.AsyncClient, creds: dict[str, Any]) -> str:
    consent = await client.get(
        "/oauth/authorize",
        params={"client_id": creds["client_id"], "response_type": "code",
                "redirect_uri": creds["redirect_uri"]},
    )  # fmt: skip
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    answer = await client.post(
        "/auth/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": creds["client_id"],
              "client_secret": creds["client_secret"], "redirect_uri": creds["redirect_uri"]},
    )  # fmt: skip
    token: str = answer.json()["access_token"]
    return token


def _inner(body: object) -> object:
    """The record (or list's first item) under `response[.result].<name>`."""
    if not isinstance(body, dict):
        return None
    level = body.get("response")
    if isinstance(level, dict) and isinstance(level.get("result"), dict):
        level = level["result"]
    if not isinstance(level, dict):
        return None
    if "result" not in (body.get("response") or {}):
        return level  # the auth family: the identity itself
    for value in level.values():
        if isinstance(value, dict):
            return value
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return value[0]
    return None


def _request(call: Recorded, account_id: str) -> tuple[str, Any]:
    path = re.sub(r"^/accounting/account/[^/]+/", f"/accounting/account/{account_id}/", call.path)
    path = re.sub(r"/expenses/expenses/\d+$", f"/expenses/expenses/{SEED_EXPENSE}", path)
    data = call.data
    if isinstance(data, dict) and isinstance(data.get("expense"), dict):
        expense = dict(data["expense"])
        if "categoryid" in expense:
            expense["categoryid"] = SEED_CATEGORY
        data = {"expense": expense}
    return path, data


def _compare(result: CallResult, call: Recorded, answer: httpx.Response) -> None:
    result.status = answer.status_code == call.status
    if not result.status:
        result.notes.append(f"status {answer.status_code} != recorded {call.status}")
    result.content_type = "json" in answer.headers.get("content-type", "")
    recorded, actual = _inner(call.response), _inner(answer.json())
    if isinstance(recorded, dict) and isinstance(actual, dict):
        missing = sorted(set(recorded) - set(actual))
        result.shape = not missing
        if missing:
            result.notes.append(f"missing keys {missing}")
    else:
        result.shape = type(recorded) is type(actual)


async def replay_freshbooks(reference: Path) -> list[CallResult]:
    sandbox = build_sandbox()
    sandbox.limiter.policy = sandbox.limiter.policy.model_copy(update={"enabled": False})
    results: list[CallResult] = []
    transport = httpx.ASGITransport(app=build_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        headers = {"Authorization": f"Bearer {await _token(client, creds)}"}
        for call in recordings(reference / "nango" / "freshbooks"):
            name = f"{call.method} {call.path}"
            if not IN_SCOPE.match(call.path):
                results.append(CallResult(call=name, in_scope=False))
                continue
            await client.post("/_sandbox/reset")
            headers = {"Authorization": f"Bearer {await _token(client, creds)}"}
            path, data = _request(call, str(creds["account_id"]))
            answer = await client.request(
                call.method, path, params=call.params, json=data, headers=headers
            )
            result = CallResult(call=name, in_scope=True)
            _compare(result, call, answer)
            results.append(result)
    await sandbox.aclose()
    return results


CONFORMANCE = Conformance("nango/freshbooks", replay_freshbooks)
