"""Acumatica OAuth 2.0: consent at the connection's own instance, code exchange, refresh.

Facts (§3c of ``../shared/vendors/acumatica.md``): the identity server is part of each
instance (``{instance}/identity/connect/authorize`` and ``.../token``); the client id is
the Connected Application's id with the tenant after an ``@`` (``GUID@AcmeLive``); grants
are authorization code, resource owner password and refresh token, and **no client
credentials**, so a connection is made by consent. The scope ``api offline_access`` gives
a refresh token and keeps one API session for the whole chain, so nothing needs signing
out; each refresh hands out a new refresh token and the old one dies (the runtime's
``TokenKeeper`` keeps one refresh in flight per connection for exactly that).

The instance, tenant and endpoint version are the connection's start options
(``mlc connections add acumatica --oauth --set base_url=... --set tenant=... --set
version=...``); the Connected Application's id and secret are settings
(``MLC_ACUMATICA_CLIENT_ID`` / ``_CLIENT_SECRET``), the id overridable per connection
(``--set client_id=...``) for a deployment that serves several instances with one secret
[inferred: Acumatica issues a secret per Connected Application; one per deployment is our
choice, a per-connection secret would need a secret start option].
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import httpx

from schemas.envelope import utcnow
from services.acumatica.ping import ENTITY, served_check
from services.acumatica.settings import AcumaticaSettings
from services.runtime.oauth_tokens import OAuthRefusedError, TokenSet, VendorCallError
from services.runtime.url_paths import UnsafePathSegmentError, url_path

__all__ = ["TOKEN_PATH", "AcumaticaOAuth", "connection_options"]

AUTHORIZE_PATH: Final = "/identity/connect/authorize"
TOKEN_PATH: Final = "/identity/connect/token"  # noqa: S105 - a URL path, not a secret
_REQUIRED: Final = ("base_url", "tenant", "version")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connection_options(options: Mapping[str, Any]) -> dict[str, str]:
    """The start options checked: instance URL (https), tenant, endpoint and version.

    ValueError names what is wrong; the control plane turns it into a 400 before anything
    is stored.
    """
    values = {k: str(v).strip() for k, v in options.items() if v is not None}
    missing = [name for name in _REQUIRED if not values.get(name)]
    if missing:
        msg = f"an Acumatica OAuth connection needs --set {'=... --set '.join(missing)}=..."
        raise ValueError(msg)
    base = values["base_url"].rstrip("/")
    parts = urlsplit(base)
    # §1: HTTPS is required for OAuth; plain HTTP only to a sandbox on this machine.
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname or "")):
        msg = f"base_url must be the instance's https:// URL, not {base!r}"
        raise ValueError(msg)
    if parts.query or parts.fragment or not parts.hostname:
        msg = f"base_url must be the instance URL alone (no query), not {base!r}"
        raise ValueError(msg)
    values["base_url"] = base
    values.setdefault("endpoint", "Default")
    values["endpoint"] = values["endpoint"] or "Default"
    try:
        url_path(ENTITY, endpoint=values["endpoint"], version=values["version"], entity="x")
    except UnsafePathSegmentError as error:
        msg = f"the endpoint or version cannot be a URL path segment: {error}"
        raise ValueError(msg) from error
    return values


class AcumaticaOAuth:
    """The Acumatica knowledge behind ``OAuthVendor`` and ``TokenRefresher`` (runtime)."""

    account_keys: tuple[
        str, ...
    ] = ()  # the instance and tenant come from the settings: they cannot differ

    def __init__(self, settings: AcumaticaSettings) -> None:
        self._settings = settings

    def _client_id(self, options: Mapping[str, Any]) -> str:
        given = str(options.get("client_id") or self._settings.client_id).strip()
        if not given:
            msg = "no Connected Application: set MLC_ACUMATICA_CLIENT_ID (or --set client_id=...)"
            raise ValueError(msg)
        # §3c: the tenant suffix is mandatory; an id typed without one gets the connection's.
        return given if "@" in given else f"{given}@{options['tenant']}"

    def authorize_url(self, state: str, options: Mapping[str, str]) -> str:
        checked = connection_options(options)
        params = {
            "response_type": "code",
            "client_id": self._client_id(checked),
            "redirect_uri": self._settings.redirect_uri,
            "scope": self._settings.scope,
            "state": state,
        }
        return f"{checked['base_url']}{AUTHORIZE_PATH}?{urlencode(params)}"

    async def _token_call(
        self, http: httpx.AsyncClient, token_url: str, client_id: str, grant: dict[str, str]
    ) -> dict[str, Any]:
        form = {
            **grant,
            "client_id": client_id,
            "client_secret": self._settings.client_secret.get_secret_value(),
        }
        answer = await http.post(token_url, data=form, headers={"Accept": "application/json"})
        try:
            body: Any = answer.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if answer.status_code == httpx.codes.OK and body.get("access_token"):
            return dict(body)
        reason = str(body.get("error_description") or body.get("error") or answer.text[:200])
        if answer.status_code == 429 or "api login limit" in answer.text.lower():
            msg = f"Acumatica refused a token: every API-user seat is taken ({reason})"
            raise VendorCallError(msg)
        if answer.status_code in (400, 401) and body.get("error"):
            # invalid_grant: a spent or expired refresh token or code; invalid_client.
            raise OAuthRefusedError(f"Acumatica refused the grant: {reason}")
        msg = f"Acumatica's token endpoint answered HTTP {answer.status_code}: {reason}"
        raise VendorCallError(msg)

    def _token_set(self, body: Mapping[str, Any], extra: Mapping[str, str], old: str) -> TokenSet:
        refresh = str(body.get("refresh_token") or old)
        if not refresh:
            msg = "Acumatica issued no refresh token: the scope must include offline_access"
            raise OAuthRefusedError(msg)
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=refresh,
            expires_at=utcnow() + timedelta(seconds=int(body.get("expires_in", 3600))),
            extra=dict(extra),
        )

    async def exchange_code(
        self, http: httpx.AsyncClient, code: str, callback: Mapping[str, str]
    ) -> TokenSet:
        try:
            checked = connection_options(callback)
            client_id = self._client_id(checked)
        except ValueError as error:
            raise OAuthRefusedError(str(error)) from error
        token_url = checked["base_url"] + TOKEN_PATH
        grant = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._settings.redirect_uri,
        }
        body = await self._token_call(http, token_url, client_id, grant)
        return self._token_set(body, {"token_url": token_url, "client_id": client_id}, "")

    async def refresh(self, http: httpx.AsyncClient, tokens: TokenSet) -> TokenSet:
        grant = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        extra = tokens.extra
        body = await self._token_call(http, extra["token_url"], extra["client_id"], grant)
        # Each refresh rotates the refresh token (§3c): the old one is dead from here on.
        return self._token_set(body, extra, "")

    async def read_identity(
        self, http: httpx.AsyncClient, tokens: TokenSet, callback: Mapping[str, str]
    ) -> dict[str, str]:
        checked = connection_options(callback)
        # A version the instance does not serve fails the connect, not every write later.
        await served_check(
            http, checked["base_url"], checked["endpoint"], checked["version"], _bearer(tokens)
        )
        return {"auth": "oauth", "client_id": tokens.extra["client_id"]}

    async def ping(
        self, http: httpx.AsyncClient, tokens: TokenSet, identity: Mapping[str, Any]
    ) -> str:
        checked = connection_options(identity)
        base, entity = checked["base_url"], self._settings.ping_entity
        await served_check(http, base, checked["endpoint"], checked["version"], _bearer(tokens))
        read_url = base + url_path(
            ENTITY, endpoint=checked["endpoint"], version=checked["version"], entity=entity
        )
        read = await http.get(
            read_url,
            params={"$top": "1", "$select": self._settings.ping_select},
            headers={"Accept": "application/json", **_bearer(tokens)},
        )
        if read.status_code != httpx.codes.OK:
            msg = f"Acumatica {entity} answered HTTP {read.status_code}"
            raise VendorCallError(msg, unauthorized=read.status_code == httpx.codes.UNAUTHORIZED)
        return f"Acumatica OAuth ok for tenant {checked['tenant']}; {entity} readable"


def _bearer(tokens: TokenSet) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.access_token}"}
