"""Zoho Books OAuth: multi-DC consent, code exchange at the user's DC, identity, refresh.

Facts (``shared/vendors/zoho-books.md`` sections 1-3): the redirect carries
``accounts-server`` (the user's DC), where the code must be exchanged; the token answer's
``api_domain`` is the API host; refresh keeps the refresh token (Zoho does not rotate
it); token errors come with HTTP 200 and an ``error`` field; API calls use
``Zoho-oauthtoken``; every call but ``/organizations`` needs ``organization_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from schemas.envelope import utcnow
from services.runtime.oauth_tokens import OAuthRefusedError, TokenSet, VendorCallError
from services.zoho.client import books_get
from services.zoho.settings import ZohoSettings

__all__ = ["ZohoOAuth"]


class ZohoOAuth:
    """The Zoho Books knowledge behind ``OAuthVendor`` and ``TokenRefresher`` (runtime)."""

    account_keys: tuple[str, ...] = (
        "organization_id",
    )  # a token for another organization would write into it

    def __init__(self, settings: ZohoSettings) -> None:
        self._settings = settings

    def authorize_url(self, state: str, options: Mapping[str, str]) -> str:
        s = self._settings
        params = {
            "scope": s.scope,
            "client_id": s.client_id,
            "response_type": "code",
            "redirect_uri": s.redirect_uri,
            "access_type": "offline",  # without it Zoho issues no refresh token
            "prompt": "consent",
            "state": state,
        }
        return f"{s.accounts_base_url}/oauth/v2/auth?{urlencode(params)}"

    def _accounts_server(self, callback: Mapping[str, str]) -> str:
        server = callback.get("accounts-server") or self._settings.accounts_base_url
        # The code (and later our secret) goes to this host: only a known Zoho DC.
        if not any(server.startswith(t) for t in self._settings.trusted_accounts_servers):
            msg = f"untrusted accounts-server {server!r} on the redirect"
            raise OAuthRefusedError(msg)
        return server.rstrip("/")

    async def _token_call(
        self, http: httpx.AsyncClient, server: str, grant: dict[str, str]
    ) -> dict[str, Any]:
        s = self._settings
        answer = await http.post(
            f"{server}/oauth/v2/token",
            data={
                **grant,
                "client_id": s.client_id,
                "client_secret": s.client_secret.get_secret_value(),
                "redirect_uri": s.redirect_uri,
            },
        )
        if answer.status_code != 200:
            msg = f"Zoho token endpoint answered HTTP {answer.status_code}"
            raise VendorCallError(msg)
        body: dict[str, Any] = answer.json()
        if "error" in body:  # Zoho reports a bad grant with HTTP 200
            raise OAuthRefusedError(str(body["error"]))
        return body

    async def exchange_code(
        self, http: httpx.AsyncClient, code: str, callback: Mapping[str, str]
    ) -> TokenSet:
        server = self._accounts_server(callback)
        body = await self._token_call(
            http, server, {"grant_type": "authorization_code", "code": code}
        )
        if "refresh_token" not in body:
            msg = "Zoho issued no refresh token (access_type=offline missing?)"
            raise OAuthRefusedError(msg)
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_at=utcnow() + timedelta(seconds=int(body.get("expires_in", 3600))),
            extra={"accounts_server": server, "api_domain": str(body["api_domain"])},
        )

    async def refresh(self, http: httpx.AsyncClient, tokens: TokenSet) -> TokenSet:
        server = tokens.extra["accounts_server"]
        body = await self._token_call(
            http, server, {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        )
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=tokens.refresh_token,  # not rotated
            expires_at=utcnow() + timedelta(seconds=int(body.get("expires_in", 3600))),
            extra={**tokens.extra, "api_domain": str(body.get("api_domain", ""))}
            if body.get("api_domain")
            else dict(tokens.extra),
        )

    async def read_identity(
        self, http: httpx.AsyncClient, tokens: TokenSet, callback: Mapping[str, str]
    ) -> dict[str, str]:
        api_domain = tokens.extra["api_domain"]
        listed = await books_get(http, api_domain, "/organizations", tokens.access_token)
        organizations = listed.get("organizations", [])
        if not organizations:
            msg = "the Zoho user has no Books organization in this data centre"
            raise VendorCallError(msg)
        # A user may own several; the default one is taken (change it in the settings later).
        chosen = next((o for o in organizations if o.get("is_default_org")), organizations[0])
        return {
            "organization_id": str(chosen["organization_id"]),
            "organization_name": str(chosen.get("name", "")),
            "region": callback.get("location", ""),
            "api_domain": api_domain,
        }

    async def ping(
        self, http: httpx.AsyncClient, tokens: TokenSet, identity: Mapping[str, Any]
    ) -> str:
        organization_id = str(identity["organization_id"])
        await books_get(
            http,
            tokens.extra["api_domain"],
            "/contacts",
            tokens.access_token,
            {"organization_id": organization_id, "per_page": "1"},
        )
        return f"Zoho Books contacts answered for organization {organization_id}"
