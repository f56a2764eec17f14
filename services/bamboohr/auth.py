"""BambooHR OAuth: per-company consent and token pages, refresh, the subdomain as identity.

Also the ping of API-key connections (section 2a), which share the directory read.

Facts (``shared/vendors/bamboohr.md`` section 2b): consent and tokens live on the
customer's subdomain, so it is asked for before consent (``--subdomain``) and checked
against the token answer's ``companyDomain``; a refresh may or may not return a new
refresh token, so whichever comes back is kept.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from schemas.envelope import utcnow
from services.bamboohr.client import ping_directory
from services.bamboohr.settings import BambooHRSettings
from services.runtime.oauth_tokens import OAuthRefusedError, TokenSet, VendorCallError

__all__ = ["BambooHRAuth"]

# A subdomain becomes part of a host name we send our secret to: letters, digits, hyphens.
_SUBDOMAIN: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class BambooHRAuth:
    """The BambooHR knowledge behind ``OAuthVendor`` and ``TokenRefresher`` (runtime)."""

    account_keys: tuple[str, ...] = ()  # the subdomain comes from the settings: it cannot differ

    def __init__(self, settings: BambooHRSettings) -> None:
        self._settings = settings

    def company_url(self, options: Mapping[str, Any]) -> str:
        subdomain = str(options.get("subdomain", "")).lower()
        if not _SUBDOMAIN.fullmatch(subdomain):
            msg = "BambooHR needs the company subdomain (acme for acme.bamboohr.com)"
            raise ValueError(msg)
        return self._settings.company_url_template.format(subdomain=subdomain)

    def authorize_url(self, state: str, options: Mapping[str, str]) -> str:
        s = self._settings
        params = {
            "request": "authorize",
            "response_type": "code",
            "client_id": s.client_id,
            "redirect_uri": s.redirect_uri,
            "scope": s.scope,
            "state": state,
        }
        return f"{self.company_url(options)}/authorize.php?{urlencode(params)}"

    async def _token_call(
        self, http: httpx.AsyncClient, company_url: str, grant: dict[str, str]
    ) -> dict[str, Any]:
        s = self._settings
        answer = await http.post(
            f"{company_url}/token.php",
            params={"request": "token"},
            data={
                **grant,
                "client_id": s.client_id,
                "client_secret": s.client_secret.get_secret_value(),
                "redirect_uri": s.redirect_uri,
            },
        )
        if answer.status_code in (400, 401):
            raise OAuthRefusedError(answer.text[:200])
        if answer.status_code != 200:
            msg = f"BambooHR token endpoint answered HTTP {answer.status_code}"
            raise VendorCallError(msg)
        body: dict[str, Any] = answer.json()
        return body

    def _token_set(
        self, body: Mapping[str, Any], *, previous_refresh: str, company_url: str
    ) -> TokenSet:
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or previous_refresh),
            expires_at=utcnow() + timedelta(seconds=int(body.get("expires_in", 3600))),
            extra={
                "company_url": company_url,
                "company_domain": str(body.get("companyDomain", "")),
            },
        )

    async def exchange_code(
        self, http: httpx.AsyncClient, code: str, callback: Mapping[str, str]
    ) -> TokenSet:
        company_url = self.company_url(callback)
        body = await self._token_call(
            http, company_url, {"grant_type": "authorization_code", "code": code}
        )
        if not body.get("refresh_token"):
            msg = "BambooHR issued no refresh token (scope offline_access missing?)"
            raise OAuthRefusedError(msg)
        return self._token_set(body, previous_refresh="", company_url=company_url)

    async def refresh(self, http: httpx.AsyncClient, tokens: TokenSet) -> TokenSet:
        company_url = tokens.extra["company_url"]
        body = await self._token_call(
            http,
            company_url,
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
        )
        return self._token_set(body, previous_refresh=tokens.refresh_token, company_url=company_url)

    async def read_identity(
        self, http: httpx.AsyncClient, tokens: TokenSet, callback: Mapping[str, str]
    ) -> dict[str, str]:
        subdomain = callback["subdomain"].lower()
        granted = tokens.extra.get("company_domain", "")
        if granted and granted.lower() != subdomain:
            msg = f"the token is for company {granted!r}, not {subdomain!r}"
            raise VendorCallError(msg)
        return {"subdomain": subdomain}

    async def ping(
        self, http: httpx.AsyncClient, tokens: TokenSet, identity: Mapping[str, Any]
    ) -> str:
        return await ping_directory(
            http, tokens.extra["company_url"], f"Bearer {tokens.access_token}"
        )

    async def ping_with_credentials(
        self, http: httpx.AsyncClient, secrets: Mapping[str, str], settings: Mapping[str, Any]
    ) -> str:
        """An API-key connection: Basic auth with the key as user and any password."""
        company_url = self.company_url({"subdomain": settings.get("company_domain", "")})
        basic = base64.b64encode(f"{secrets.get('api_key', '')}:x".encode()).decode()
        return await ping_directory(http, company_url, f"Basic {basic}")
