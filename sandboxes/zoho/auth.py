"""Zoho Accounts: authorize, token, refresh, revoke, serverinfo, and checking API tokens.

Sheet section 2. Zoho's rules are its own, so they live here rather than in the kit's
generic OAuth helper: the code is valid 60 s and only at the accounts server of the user's
DC; a refresh token comes only with `access_type=offline` and is never rotated; a user keeps
at most 20 refresh tokens (the 21st silently evicts the oldest, and its access tokens);
errors are `{"error": "invalid_code"}` with HTTP 200; `api_domain` is in every token answer.
API calls carry `Authorization: Zoho-oauthtoken <token>`, and a token only works on the API
host of the DC that issued it.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandboxes.kit import SandboxClock, State
from sandboxes.zoho.errors import ZohoError
from sandboxes.zoho.regions import REGIONS, Region, Resolved, origin_for, region_by_code
from sandboxes.zoho.settings import ZohoSandboxSettings

__all__ = ["AccessGrant", "AccountsServer"]

FULL_ACCESS = "zohobooks.fullaccess.all"


@dataclass
class AccessGrant:
    """Who a live access token speaks for, in which DC, with which scopes."""

    user_id: str
    client_id: str
    region: str
    scopes: tuple[str, ...]
    expires_at: float
    refresh_token: str | None = None

    def allows(self, module: str, operation: str) -> bool:
        """`ZohoBooks.<module>.<OPERATION>`, `.ALL` or full access (case-insensitive)."""
        wanted = {
            f"zohobooks.{module}.{operation}".lower(),
            f"zohobooks.{module}.all".lower(),
            FULL_ACCESS,
        }
        return any(scope.lower() in wanted for scope in self.scopes)


@dataclass
class _Code:
    client_id: str
    user_id: str
    region: str
    scopes: tuple[str, ...]
    redirect_uri: str
    offline: bool
    expires_at: float


@dataclass
class _RefreshGrant:
    client_id: str
    user_id: str
    region: str
    scopes: tuple[str, ...]
    access_tokens: deque[str] = field(default_factory=deque)


def _token() -> str:
    # Zoho's tokens look like `1000.<32 hex>.<32 hex>`.
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def _params(query: dict[str, str], form: dict[str, str]) -> dict[str, str]:
    # Zoho documents query parameters; a form body works too [V3p].
    return {**form, **query}


class AccountsServer:
    """The accounts server of every DC, sharing one user/client directory (the state)."""

    def __init__(self, state: State, clock: SandboxClock, settings: ZohoSandboxSettings) -> None:
        self._state = state
        self._clock = clock
        self._settings = settings
        self.reset()

    def reset(self) -> None:
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        self._access: dict[str, AccessGrant] = {}
        self._refresh_created: dict[str, deque[float]] = {}

    # --- helpers ---------------------------------------------------------------------------

    def default_user(self) -> dict[str, Any]:
        users = self._state.records("users")
        if not users:
            raise ZohoError(57, "no user in the sandbox", status=401)
        return users[0]

    def _client(self, client_id: str, client_secret: str | None) -> dict[str, Any] | None:
        client = self._state.get("oauth_clients", client_id)
        if client is None:
            return None
        if client_secret is not None and not secrets.compare_digest(
            str(client["client_secret"]), client_secret
        ):
            return None
        return client

    def _error(self, error: str) -> JSONResponse:
        return JSONResponse({"error": error}, status_code=self._settings.token_error_status)

    @staticmethod
    def _origin(request: Request, resolved: Resolved, host_name: str) -> str:
        return origin_for(
            scheme=request.url.scheme,
            netloc=request.url.netloc,
            style=resolved.style,
            host_name=host_name,
        )

    # --- endpoints -------------------------------------------------------------------------

    async def authorize(self, request: Request, resolved: Resolved) -> Response:
        """`GET /oauth/v2/auth`: auto-consent for the default user, redirect with the DC."""
        query = request.query_params
        client = self._client(query.get("client_id", ""), None)
        if client is None:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in client["redirect_uris"]:
            return JSONResponse({"error": "invalid_redirect_uri"}, status_code=400)
        if query.get("response_type", "code") != "code":
            return JSONResponse({"error": "unsupported_response_type"}, status_code=400)
        user = self.default_user()
        home = region_by_code(str(user["region"]))
        # [V] a multi-DC client starting at any DC lands at the user's home DC; China is
        # separate and must be started at accounts.zoho.com.cn (and only China there).
        if (home.code == "cn") != (resolved.region.code == "cn"):
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        scopes = tuple(s for s in query.get("scope", "").split(",") if s)
        self._codes[code] = _Code(
            client_id=str(client["id"]),
            user_id=str(user["id"]),
            region=home.code,
            scopes=scopes,
            redirect_uri=redirect_uri,
            offline=query.get("access_type", "online").lower() == "offline",
            expires_at=self._clock.timestamp() + self._settings.code_ttl_seconds,
        )
        params: dict[str, str] = {}
        if "state" in query:
            params["state"] = query["state"]
        params["code"] = code
        params["location"] = home.code
        params["accounts-server"] = self._origin(request, resolved, home.accounts_host)
        parts = urlsplit(redirect_uri)
        joined = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
        target = urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))
        return RedirectResponse(target, status_code=302)

    async def token(self, request: Request, resolved: Resolved) -> Response:
        """`POST /oauth/v2/token`: authorization_code or refresh_token."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        params = _params(dict(request.query_params), form)
        grant_type = params.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._exchange(request, resolved, params)
        if grant_type == "refresh_token":
            return self._refresh_access(request, resolved, params)
        return self._error("unsupported_grant_type")

    def _exchange(self, request: Request, resolved: Resolved, params: dict[str, str]) -> Response:
        client = self._client(params.get("client_id", ""), params.get("client_secret", ""))
        if client is None:
            return self._error("invalid_client")
        entry = self._codes.pop(params.get("code", ""), None)
        if (
            entry is None
            or entry.client_id != client["id"]
            or entry.expires_at <= self._clock.timestamp()
            or entry.region != resolved.region.code  # [V] exchange at *that* accounts-server
        ):
            return self._error("invalid_code")
        if params.get("redirect_uri", entry.redirect_uri) != entry.redirect_uri:
            return self._error("invalid_redirect_uri")
        refresh: str | None = None
        if entry.offline:
            refresh = self._new_refresh_token(entry)
            if refresh is None:
                return JSONResponse(
                    {
                        "error": "Access Denied",
                        "error_description": "You have made too many requests continuously. "
                        "Please try again after some time.",
                    },
                    status_code=400,
                )
        access = self._new_access_token(
            entry.user_id, entry.client_id, entry.region, entry.scopes, refresh
        )
        body: dict[str, Any] = {"access_token": access}
        if refresh is not None:
            body["refresh_token"] = refresh
        body.update(self._token_tail(request, resolved, entry.region))
        return JSONResponse(body)

    def _token_tail(self, request: Request, resolved: Resolved, region: str) -> dict[str, Any]:
        api_host = region_by_code(region).api_host
        return {
            "api_domain": self._origin(request, resolved, api_host),
            "token_type": "Bearer",
            "expires_in": int(self._settings.access_token_ttl_seconds),
        }

    def _refresh_access(
        self, request: Request, resolved: Resolved, params: dict[str, str]
    ) -> Response:
        client = self._client(params.get("client_id", ""), params.get("client_secret", ""))
        if client is None:
            return self._error("invalid_client")
        token = params.get("refresh_token", "")
        grant = self._refresh.get(token)
        if grant is None or grant.client_id != client["id"]:
            return self._error("invalid_code")
        if grant.region != resolved.region.code:
            return self._error("invalid_code")
        access = self._new_access_token(
            grant.user_id, grant.client_id, grant.region, grant.scopes, token
        )
        # [V] no new refresh token on refresh (not rotated).
        return JSONResponse(
            {"access_token": access, **self._token_tail(request, resolved, grant.region)}
        )

    async def revoke(self, request: Request, resolved: Resolved) -> Response:
        """`POST /oauth/v2/token/revoke?token=<refresh_token>`."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        token = _params(dict(request.query_params), form).get("token", "")
        self._drop_refresh(token)
        self._access.pop(token, None)
        return JSONResponse({"status": "success"})

    async def serverinfo(self, request: Request, resolved: Resolved) -> Response:
        """`GET /oauth/serverinfo`: location code -> accounts server."""
        locations = {r.code: self._origin(request, resolved, r.accounts_host) for r in REGIONS}
        return JSONResponse({"result": "success", "locations": locations})

    # --- token bookkeeping -----------------------------------------------------------------

    def _new_refresh_token(self, entry: _Code) -> str | None:
        now = self._clock.timestamp()
        created = self._refresh_created.setdefault(entry.user_id, deque())
        while created and created[0] <= now - 60:
            created.popleft()
        if len(created) >= self._settings.max_refresh_token_creations_per_minute:
            return None
        created.append(now)
        mine = [t for t, g in self._refresh.items() if g.user_id == entry.user_id]
        while len(mine) >= self._settings.max_refresh_tokens_per_user:
            # [V] the 21st silently deletes the oldest, even if in use (dicts keep order).
            self._drop_refresh(mine.pop(0))
        token = _token()
        self._refresh[token] = _RefreshGrant(
            client_id=entry.client_id,
            user_id=entry.user_id,
            region=entry.region,
            scopes=entry.scopes,
        )
        return token

    def _drop_refresh(self, token: str) -> None:
        grant = self._refresh.pop(token, None)
        if grant is not None:
            for access in grant.access_tokens:
                self._access.pop(access, None)

    def _new_access_token(
        self,
        user_id: str,
        client_id: str,
        region: str,
        scopes: tuple[str, ...],
        refresh: str | None,
    ) -> str:
        token = _token()
        self._access[token] = AccessGrant(
            user_id=user_id,
            client_id=client_id,
            region=region,
            scopes=scopes,
            expires_at=self._clock.timestamp() + self._settings.access_token_ttl_seconds,
            refresh_token=refresh,
        )
        grant = self._refresh.get(refresh) if refresh is not None else None
        if grant is not None:
            grant.access_tokens.append(token)
            while len(grant.access_tokens) > self._settings.max_access_tokens_per_refresh_token:
                self._access.pop(grant.access_tokens.popleft(), None)  # [I] oldest goes
        return token

    # --- checking API calls ------------------------------------------------------------------

    def authenticate(self, request: Request, region: Region) -> AccessGrant:
        """The grant behind `Authorization: Zoho-oauthtoken <token>` on this DC's API host."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        grant = self._access.get(token.strip()) if scheme == "Zoho-oauthtoken" else None
        if (
            grant is None
            or grant.expires_at <= self._clock.timestamp()
            or grant.region != region.code  # [V3p] code 57 covers "wrong DC"
        ):
            raise self.unauthorized()
        return grant

    def unauthorized(self) -> ZohoError:
        s = self._settings
        return ZohoError(
            s.invalid_token_code, s.invalid_token_message, status=s.invalid_token_status
        )
