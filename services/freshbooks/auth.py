"""FreshBooks OAuth: consent URL, code exchange, rotating refresh, identity from users/me.

Facts (``shared/vendors/freshbooks.md`` section 2-3): token calls always carry
``client_secret`` and ``redirect_uri``; expiry is ``created_at + expires_in``; every
refresh returns a new single-use refresh token (the caller stores the new pair before
using it); the account is the first business membership that has an ``account_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from services.freshbooks.client import USERS_ME, ping_users_me
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.oauth_tokens import OAuthRefusedError, TokenSet, VendorCallError

__all__ = ["FreshBooksOAuth"]


def _token_set(body: Mapping[str, Any]) -> TokenSet:
    created = datetime.fromtimestamp(int(body.get("created_at", 0)), tz=UTC)
    return TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=str(body["refresh_token"]),
        expires_at=created + timedelta(seconds=int(body.get("expires_in", 0))),
        extra={},
    )


class FreshBooksOAuth:
    """The FreshBooks knowledge behind ``OAuthVendor`` and ``TokenRefresher`` (runtime)."""

    account_keys: tuple[str, ...] = (
        "account_id",
    )  # the account the staff, bills and expenses live in

    def __init__(self, settings: FreshBooksSettings) -> None:
        self._settings = settings

    def authorize_url(self, state: str, options: Mapping[str, str]) -> str:
        s = self._settings
        params = {
            "client_id": s.client_id,
            "response_type": "code",
            "redirect_uri": s.redirect_uri,
            "state": state,
        }
        if s.scope:
            params["scope"] = s.scope
        return f"{s.auth_base_url}{s.authorize_path}?{urlencode(params)}"

    async def _token_call(self, http: httpx.AsyncClient, grant: dict[str, str]) -> TokenSet:
        s = self._settings
        answer = await http.post(
            f"{s.api_base_url}{s.token_path}",
            data={
                **grant,
                "client_id": s.client_id,
                "client_secret": s.client_secret.get_secret_value(),
                "redirect_uri": s.redirect_uri,
            },
        )
        if answer.status_code in (400, 401):
            body = answer.json()
            raise OAuthRefusedError(str(body.get("error_description") or body.get("error")))
        if answer.status_code != 200:
            msg = f"FreshBooks token endpoint answered HTTP {answer.status_code}"
            raise VendorCallError(msg)
        return _token_set(answer.json())

    async def exchange_code(
        self, http: httpx.AsyncClient, code: str, callback: Mapping[str, str]
    ) -> TokenSet:
        return await self._token_call(http, {"grant_type": "authorization_code", "code": code})

    async def refresh(self, http: httpx.AsyncClient, tokens: TokenSet) -> TokenSet:
        return await self._token_call(
            http, {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        )

    async def read_identity(
        self, http: httpx.AsyncClient, tokens: TokenSet, callback: Mapping[str, str]
    ) -> dict[str, str]:
        answer = await http.get(
            f"{self._settings.api_base_url}{USERS_ME}",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        if answer.status_code != 200:
            msg = f"users/me answered HTTP {answer.status_code}"
            raise VendorCallError(msg, unauthorized=answer.status_code == 401)
        me = answer.json()["response"]
        # A membership without account_id is a client-only role: no accounting access.
        for membership in me.get("business_memberships", []):
            business = membership.get("business", {})
            if business.get("account_id"):
                return {
                    "account_id": str(business["account_id"]),
                    "business_id": str(business["id"]),
                    "business_uuid": str(business.get("business_uuid", "")),
                    "identity_id": str(me.get("identity_id", me.get("id", ""))),
                }
        msg = "the FreshBooks user has no business with accounting access"
        raise VendorCallError(msg)

    async def ping(
        self, http: httpx.AsyncClient, tokens: TokenSet, identity: Mapping[str, Any]
    ) -> str:
        return await ping_users_me(http, self._settings.api_base_url, tokens.access_token)
