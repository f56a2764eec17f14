"""Who is calling: API-key Basic auth with the bad-key lockout, and OAuth 2.0 per subdomain.

Sheet section 2: `Authorization: Basic base64("<api_key>:x")` (any password); a missing key
is 401; repeated unknown keys lock the company's API out, then every request is 403.
OAuth: `/authorize.php` (with or without `request=authorize`; scope optional) auto-consents
for the default user; `/token.php?request=token` takes form or JSON bodies; tokens last
3600 s; a refresh token only with `offline_access`; tokens belong to one company.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from sandboxes.bamboohr.errors import BambooError
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from sandboxes.kit import (
    IssuedTokens,
    OAuthClient,
    OAuthError,
    OAuthPolicy,
    OAuthProvider,
    SandboxClock,
    State,
)

__all__ = ["Authenticator", "Principal", "require_scope"]

HostStyle = Literal["subdomain", "gateway"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `scopes`/`fields`/`employees` None = unrestricted."""

    kind: Literal["api_key", "oauth"]
    owner: str
    employee_id: str
    scopes: frozenset[str] | None
    fields: frozenset[str] | None
    employees: frozenset[str] | None

    def may_see_employee(self, employee_id: str) -> bool:
        return self.employees is None or employee_id in self.employees

    def may_see_field(self, alias: str) -> bool:
        return self.fields is None or alias in self.fields or alias == "id"


def require_scope(principal: Principal, *any_of: str) -> None:
    """403 unless an OAuth caller holds one of `any_of` (or `public.integration`)."""
    if principal.scopes is None:
        return
    if principal.scopes & {*any_of, "public.integration"}:
        return
    raise BambooError(403, f"Missing scope: one of {', '.join(any_of)}")


class Authenticator:
    def __init__(
        self, state: State, clock: SandboxClock, settings: BambooHRSandboxSettings
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings
        self.oauth = OAuthProvider(
            clock,
            OAuthPolicy(
                code_ttl_seconds=600,
                access_ttl_seconds=settings.access_token_ttl_seconds,
                refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
                rotate_refresh_token=settings.rotate_refresh_token,
                refresh_requires_scope="offline_access",
            ),
        )
        self._bad_keys = 0
        self._locked_until = 0.0

    def reset(self) -> None:
        self.oauth.reset()
        self._bad_keys = 0
        self._locked_until = 0.0

    # --- API calls ---------------------------------------------------------------------

    def authenticate(self, request: Request, style: HostStyle) -> Principal:
        if self.clock.timestamp() < self._locked_until:
            raise BambooError(403, "API access is disabled for this company")
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "basic" and credentials:
            return self._api_key(credentials.strip())
        if scheme.lower() == "bearer" and credentials:
            if style == "gateway" and not self.settings.bearer_on_gateway_host:
                raise BambooError(401, "Bearer tokens are not accepted on this host")
            grant = self.oauth.authenticate(credentials.strip())
            if grant is None or grant.extra.get("company") != self.settings.company_domain:
                raise BambooError(401, "Invalid or expired access token")
            return Principal(
                kind="oauth",
                owner=f"user:{grant.subject}",
                employee_id=str(grant.extra.get("employee_id", "0")),
                scopes=frozenset(grant.scope),
                fields=None,
                employees=None,
            )
        raise BambooError(401, "Missing credentials")

    def _api_key(self, credentials: str) -> Principal:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise BambooError(401, "Malformed Basic credentials") from exc
        key = decoded.partition(":")[0]
        for record in self.state.records("api_keys"):
            if secrets.compare_digest(str(record["key"]), key):
                return Principal(
                    kind="api_key",
                    owner=f"key:{record['id']}",
                    employee_id=str(record["employeeId"]),
                    scopes=None,
                    fields=_optional_set(record.get("fields")),
                    employees=_optional_set(record.get("employees")),
                )
        self._bad_keys += 1
        if self._bad_keys >= self.settings.bad_key_lockout_after:
            self._locked_until = self.clock.timestamp() + self.settings.bad_key_lockout_seconds
            self._bad_keys = 0
        raise BambooError(401, "Invalid API key")

    # --- OAuth endpoints ---------------------------------------------------------------

    def _sync_clients(self) -> None:
        for record in self.state.records("oauth_clients"):
            self.oauth.register_client(
                OAuthClient(
                    client_id=str(record["id"]),
                    client_secret=str(record["client_secret"]),
                    redirect_uris=tuple(record["redirect_uris"]),
                )
            )

    async def authorize(self, request: Request) -> Response:
        self._sync_clients()
        query = request.query_params
        if query.get("response_type", "code") != "code":
            return PlainTextResponse("unsupported_response_type", status_code=400)
        raw_scope = query.get("scope")
        scopes = (
            tuple(s for s in re.split(r"[ +]", raw_scope) if s)
            if raw_scope
            else self.settings.default_scopes
        )
        admin = self._default_user()
        try:
            location = self.oauth.authorize(
                client_id=query.get("client_id", ""),
                redirect_uri=query.get("redirect_uri", ""),
                state=query.get("state"),
                scope=scopes,
                subject=str(admin["id"]),
                extra={
                    "company": self.settings.company_domain,
                    "employee_id": str(admin["employeeId"]),
                },
            )
        except OAuthError as exc:
            return PlainTextResponse(f"{exc.error}: {exc.description}", status_code=exc.status)
        return RedirectResponse(location, status_code=302)

    def _default_user(self) -> dict[str, Any]:
        keys = self.state.records("api_keys")
        if keys:
            return keys[0]
        return {"id": "1", "employeeId": "0"}

    async def token(self, request: Request) -> Response:
        self._sync_clients()
        values = await _token_body(request)
        grant_type = values.get("grant_type", "")
        try:
            if grant_type == "authorization_code":
                tokens = self.oauth.exchange_code(
                    client_id=values.get("client_id", ""),
                    client_secret=values.get("client_secret", ""),
                    code=values.get("code", ""),
                    redirect_uri=values.get("redirect_uri"),
                )
            elif grant_type == "refresh_token":
                tokens = self.oauth.refresh(
                    client_id=values.get("client_id", ""),
                    client_secret=values.get("client_secret", ""),
                    refresh_token=values.get("refresh_token", ""),
                )
            else:
                raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r}")
        except OAuthError as exc:
            return JSONResponse(
                {"error": exc.error, "error_description": exc.description},
                status_code=exc.status,
            )
        return JSONResponse(self._token_answer(tokens, values.get("client_secret", "")))

    def _token_answer(self, tokens: IssuedTokens, client_secret: str) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "access_token": tokens.access_token,
            "token_type": "Bearer",
            "expires_in": tokens.expires_in,
            "scope": " ".join(tokens.grant.scope),
        }
        if tokens.refresh_token is not None:
            answer["refresh_token"] = tokens.refresh_token
        if "openid" in tokens.grant.scope:
            answer["id_token"] = _id_token(tokens, client_secret, self.clock.timestamp())
        answer["companyDomain"] = tokens.grant.extra.get("company")
        return answer


def _optional_set(value: object) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return frozenset(str(item) for item in value)
    return None


async def _token_body(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode("utf-8", "replace")
    content_type = request.headers.get("content-type", "")
    if "json" in content_type or raw.lstrip().startswith("{"):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
    return dict(parse_qsl(raw))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _id_token(tokens: IssuedTokens, client_secret: str, now: float) -> str:
    """An HS256 JWT about the authorising user (shape only; nobody should trust it)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {
        "sub": tokens.grant.subject,
        "aud": tokens.grant.client_id,
        "iat": int(now),
        "exp": int(now) + tokens.expires_in,
        "companyDomain": tokens.grant.extra.get("company"),
    }
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(
        client_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256
    ).digest()
    return f"{header}.{payload}.{_b64(signature)}"
