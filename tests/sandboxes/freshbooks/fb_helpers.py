"""Shared steps for the FreshBooks sandbox contract tests: consent, tokens, paths."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sandboxes.freshbooks.seed import ACCOUNT_ID, BUSINESS_ID, BUSINESS_UUID

ACCOUNTING = f"/accounting/account/{ACCOUNT_ID}"
CALLBACKS = f"/events/account/{ACCOUNT_ID}/events/callbacks"
LEDGER = f"/accounting/businesses/{BUSINESS_UUID}/ledger_accounts/accounts"
TEAM = f"/auth/api/v1/businesses/{BUSINESS_ID}/team_members"


async def credentials(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.post("/_sandbox/credentials")
    assert answer.status_code == 200
    creds: dict[str, Any] = answer.json()
    return creds


async def authorization_code(
    client: httpx.AsyncClient, creds: dict[str, Any], *, scope: str | None = None
) -> str:
    params = {
        "client_id": creds["client_id"],
        "response_type": "code",
        "redirect_uri": creds["redirect_uri"],
        "state": "st-7",
    }
    if scope is not None:
        params["scope"] = scope
    answer = await client.get("/oauth/authorize", params=params)
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == ["st-7"]
    return query["code"][0]


async def tokens(client: httpx.AsyncClient, *, scope: str | None = None) -> dict[str, Any]:
    """The full authorization-code dance; the token endpoint's JSON answer."""
    creds = await credentials(client)
    code = await authorization_code(client, creds, scope=scope)
    answer = await client.post(
        "/auth/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "redirect_uri": creds["redirect_uri"],
            "code": code,
        },
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def bearer(client: httpx.AsyncClient, *, scope: str | None = None) -> dict[str, str]:
    issued = await tokens(client, scope=scope)
    return {"Authorization": f"Bearer {issued['access_token']}"}


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    creds = await credentials(client)
    return await client.post(
        "/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "redirect_uri": creds["redirect_uri"],
            "refresh_token": refresh_token,
        },
    )
