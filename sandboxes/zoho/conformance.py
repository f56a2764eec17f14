"""Zoho Books part of `make conformance`: replay Nango's recorded Zoho Books calls.

In scope: `/books/v3/organizations` and `/books/v3/contacts[/{id}]` (what the people flow
uses); bills, invoices, items and the rest are out of scope. The recorded organization id
and contact ids are mapped onto the default seed (a delete gets a fresh contact). Besides
status and content type, the shape check compares the top-level keys and one level deeper:
every key of the recorded entity (or first list item, and of `page_context`) must be present.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sandboxes.kit import build_app
from sandboxes.kit.conformance import CallResult, Conformance, Recorded, recordings
from sandboxes.zoho.app import build_sandbox

__all__ = ["CONFORMANCE", "replay_zoho"]

IN_SCOPE = re.compile(r"^/books/v3/(organizations|contacts(/\d+)?)$")
SEED_CONTACT = "460815000000001000"  # Northwind Retail Group in the default seed


async def _session(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, str], str]:
    creds: dict[str, Any] = (await client.post("/_sandbox/credentials")).json()
    consent = await client.get(
        "/accounts.zoho.com/oauth/v2/auth",
        params={"client_id": creds["client_id"], "response_type": "code",
                "redirect_uri": creds["redirect_uri"], "access_type": "offline",
                "scope": "ZohoBooks.fullaccess.all"},
    )  # fmt: skip
    query = parse_qs(urlsplit(consent.headers["location"]).query)
    accounts = urlsplit(query["accounts-server"][0]).path
    tokens = (
        await client.post(
            f"{accounts}/oauth/v2/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "redirect_uri": creds["redirect_uri"],
            },
        )
    ).json()
    base = urlsplit(tokens["api_domain"]).path + "/books/v3"
    return creds, {"Authorization": f"Zoho-oauthtoken {tokens['access_token']}"}, base


def _entity(body: object, key: str) -> object:
    if not isinstance(body, dict):
        return None
    value = body.get(key)
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], dict) else None
    return value


def _compare(result: CallResult, call: Recorded, answer: httpx.Response) -> None:
    result.status = answer.status_code == call.status
    if not result.status:
        result.notes.append(f"status {answer.status_code} != recorded {call.status}")
    result.content_type = "json" in answer.headers.get("content-type", "") and (
        "json" in call.content_type or not call.content_type
    )
    actual = answer.json() if "json" in answer.headers.get("content-type", "") else None
    recorded = call.response
    if not isinstance(recorded, dict) or not isinstance(actual, dict):
        result.shape = type(recorded) is type(actual)
        return
    missing = sorted(set(recorded) - set(actual))
    for key in recorded:
        inner_recorded, inner_actual = _entity(recorded, key), _entity(actual, key)
        if isinstance(inner_recorded, dict) and isinstance(inner_actual, dict):
            missing += [f"{key}.{k}" for k in sorted(set(inner_recorded) - set(inner_actual))]
    result.shape = not missing
    if missing:
        result.notes.append(f"missing keys {missing}")


async def _path(client: httpx.AsyncClient, call: Recorded, base: str, auth: dict[str, str],
                org_id: str) -> str:  # fmt: skip
    path = call.path.removeprefix("/books/v3")
    if call.method == "DELETE" and re.fullmatch(r"/contacts/\d+", path):
        created = await client.post(
            f"{base}/contacts", params={"organization_id": org_id},
            json={"contact_name": "Conformance temporary"}, headers=auth,
        )  # fmt: skip
        return f"{base}/contacts/{created.json()['contact']['contact_id']}"
    return base + re.sub(r"^/contacts/\d+$", f"/contacts/{SEED_CONTACT}", path)


async def replay_zoho(reference: Path) -> list[CallResult]:
    sandbox = build_sandbox()
    sandbox.limiter.policy = sandbox.limiter.policy.model_copy(update={"enabled": False})
    results: list[CallResult] = []
    transport = httpx.ASGITransport(app=build_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        for call in recordings(reference / "nango" / "zoho-books"):
            name = f"{call.method} {call.path}"
            if not IN_SCOPE.match(call.path):
                results.append(CallResult(call=name, in_scope=False))
                continue
            await client.post("/_sandbox/reset")
            creds, auth, base = await _session(client)
            org_id = str(creds["organization_id"])
            params = dict(call.params)
            if "organization_id" in params:
                params["organization_id"] = org_id
            path = await _path(client, call, base, auth, org_id)
            body = call.data if call.method in ("POST", "PUT") else None
            answer = await client.request(call.method, path, params=params, json=body,
                                          headers=auth)  # fmt: skip
            result = CallResult(call=name, in_scope=True)
            _compare(result, call, answer)
            results.append(result)
    await sandbox.aclose()
    return results


CONFORMANCE = Conformance("nango/zoho-books", replay_zoho)
