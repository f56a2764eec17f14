"""Shared steps for the Zoho Books sandbox contract tests: consent, token, API base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

FULL_SCOPE = "ZohoBooks.contacts.ALL,ZohoBooks.settings.ALL"
DEFAULT_ORG = "20065432101"
FREE_ORG = "20065432102"
FOREIGN_ORG = "70011112101"
LIAM = "liam.walsh@acmecreative.example"


@dataclass
class Session:
    credentials: dict[str, Any]
    access_token: str
    refresh_token: str | None
    api_domain: str
    accounts_server: str

    @property
    def base(self) -> str:
        """The Books API root as a path on the sandbox (`api_domain` + `/books/v3`)."""
        return urlsplit(self.api_domain).path + "/books/v3"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {self.access_token}"}

    @property
    def org(self) -> dict[str, str]:
        return {"organization_id": str(self.credentials["organization_id"])}


async def consent(
    client: httpx.AsyncClient,
    *,
    start: str = "/accounts.zoho.com",
    scope: str = FULL_SCOPE,
    access_type: str = "offline",
) -> dict[str, str]:
    """Run the authorize step; the redirect's query parameters."""
    credentials = (await client.post("/_sandbox/credentials")).json()
    answer = await client.get(
        f"{start}/oauth/v2/auth",
        params={
            "scope": scope,
            "client_id": credentials["client_id"],
            "response_type": "code",
            "redirect_uri": credentials["redirect_uri"],
            "access_type": access_type,
            "prompt": "consent",
            "state": "s-42",
        },
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(credentials["redirect_uri"] + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def sign_in(
    client: httpx.AsyncClient,
    *,
    scope: str = FULL_SCOPE,
    access_type: str = "offline",
    start: str = "/accounts.zoho.com",
) -> Session:
    """Consent, then exchange the code at the accounts-server the redirect named."""
    credentials = (await client.post("/_sandbox/credentials")).json()
    redirect = await consent(client, scope=scope, access_type=access_type, start=start)
    accounts = urlsplit(redirect["accounts-server"]).path
    tokens = (
        await client.post(
            f"{accounts}/oauth/v2/token",
            params={
                "grant_type": "authorization_code",
                "code": redirect["code"],
                "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"],
                "redirect_uri": credentials["redirect_uri"],
            },
        )
    ).json()
    assert "access_token" in tokens, tokens
    return Session(
        credentials=credentials,
        access_token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        api_domain=tokens["api_domain"],
        accounts_server=redirect["accounts-server"],
    )
