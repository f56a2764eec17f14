"""Acumatica's OAuth 2.0 / OIDC server under `/identity/connect/...` (sheet section 3c).

Grants: `authorization_code` (PKCE S256 optional), `password` (resource owner) and
`refresh_token`; no `client_credentials`. Client ids carry the tenant (`GUID@Tenant`).
Access tokens live 3600 s; every refresh returns a new refresh token and the old one dies;
the chain ends 30 days after the first sign-in. Every grant takes an API-user seat:
`api` alone opens a session per token that ends with the token; `offline_access` keeps one
session for the whole chain. The kit's `OAuthProvider` has no password grant, PKCE or
chain lifetime, so this vendor keeps its own small server.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sandboxes.acumatica.sessions import Session, SessionTable
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.kit import SandboxClock, State

__all__ = ["OAuthServer", "TokenError"]

SCOPES = frozenset({"api", "offline_access", "api:concurrent_access", "openid", "email",
                    "profile", "phone"})  # fmt: skip


class TokenError(Exception):
    """An OAuth failure: `error` is the RFC 6749 code; `login_limit` means no seat was free."""

    def __init__(self, error: str, description: str, *, login_limit: bool = False) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.login_limit = login_limit


@dataclass
class _Code:
    client_id: str
    user: str
    scope: tuple[str, ...]
    redirect_uri: str
    challenge: str | None
    expires_at: float


@dataclass
class _Chain:
    client_id: str
    user: str
    tenant: str
    scope: tuple[str, ...]
    ends_at: float
    session_id: str | None = None
    refresh_token: str = ""


@dataclass
class _Access:
    chain: _Chain
    expires_at: float
    session_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OAuthServer:
    def __init__(
        self,
        state: State,
        clock: SandboxClock,
        sessions: SessionTable,
        settings: AcumaticaSandboxSettings,
    ) -> None:
        self._state = state
        self._clock = clock
        self._sessions = sessions
        self._settings = settings
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Chain] = {}

    def reset(self) -> None:
        self._codes.clear()
        self._access.clear()
        self._refresh.clear()

    # --- clients and users ---------------------------------------------------------------

    def _client(self, client_id: str, secret: str | None) -> dict[str, Any]:
        client = self._state.get("oauth_clients", client_id)
        if client is None or "@" not in client_id:
            raise TokenError("invalid_client", "unknown client")
        if secret is not None and not secrets.compare_digest(str(client["secret"]), secret):
            raise TokenError("invalid_client", "client authentication failed")
        return client

    def _check_user(self, username: str, password: str, tenant: str) -> None:
        user = self._state.get("users", username)
        if (
            user is None
            or not secrets.compare_digest(str(user["password"]), password)
            or tenant not in user["tenants"]
        ):
            raise TokenError("invalid_grant", "invalid_username_or_password")

    @staticmethod
    def _scope(raw: str | None) -> tuple[str, ...]:
        scope = tuple((raw or "api").split())
        unknown = [s for s in scope if s not in SCOPES]
        if unknown:
            raise TokenError("invalid_scope", f"unknown scope {unknown[0]}")
        return scope

    # --- endpoints -----------------------------------------------------------------------

    def authorize(self, params: dict[str, str], *, user: str) -> str:
        """Auto-consent for the configured user: the redirect URL with `code` and `state`."""
        client = self._client(params.get("client_id", ""), None)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client["redirect_uris"]:
            raise TokenError("invalid_request", "redirect_uri is not registered")
        if params.get("response_type") != "code":
            raise TokenError("unsupported_response_type", "only response_type=code is served")
        method = params.get("code_challenge_method", "plain")
        challenge = params.get("code_challenge")
        if challenge is not None and method != "S256":
            raise TokenError("invalid_request", "code_challenge_method must be S256")
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Code(
            client_id=client["id"],
            user=user,
            scope=self._scope(params.get("scope")),
            redirect_uri=redirect_uri,
            challenge=challenge,
            expires_at=self._clock.timestamp() + self._settings.authorization_code_ttl_seconds,
        )
        query = {"code": code, "scope": " ".join(self._codes[code].scope)}
        if "state" in params:
            query["state"] = params["state"]
        return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}"

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type", "")
        client_id = form.get("client_id", "")
        client = self._client(client_id, form.get("client_secret", ""))
        tenant = client_id.rsplit("@", 1)[1]
        if grant_type == "authorization_code":
            return self._from_code(form, client["id"], tenant)
        if grant_type == "password":
            scope = self._scope(form.get("scope"))
            username = form.get("username", "")
            self._check_user(username, form.get("password", ""), tenant)
            return self._start_chain(client["id"], username, tenant, scope)
        if grant_type == "refresh_token":
            return self._refresh_chain(client["id"], form.get("refresh_token", ""))
        raise TokenError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def _from_code(self, form: dict[str, str], client_id: str, tenant: str) -> dict[str, Any]:
        entry = self._codes.pop(form.get("code", ""), None)
        now = self._clock.timestamp()
        if entry is None or entry.client_id != client_id or entry.expires_at <= now:
            raise TokenError("invalid_grant", "invalid or expired authorization code")
        if form.get("redirect_uri") != entry.redirect_uri:
            raise TokenError("invalid_grant", "redirect_uri does not match")
        if entry.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
            if not secrets.compare_digest(computed, entry.challenge):
                raise TokenError("invalid_grant", "code_verifier does not match")
        return self._start_chain(client_id, entry.user, tenant, entry.scope)

    def _start_chain(
        self, client_id: str, user: str, tenant: str, scope: tuple[str, ...]
    ) -> dict[str, Any]:
        chain = _Chain(
            client_id=client_id,
            user=user,
            tenant=tenant,
            scope=scope,
            ends_at=self._clock.timestamp() + self._settings.refresh_chain_seconds,
        )
        return self._issue(chain)

    def _refresh_chain(self, client_id: str, refresh_token: str) -> dict[str, Any]:
        chain = self._refresh.pop(refresh_token, None)
        if chain is None or chain.client_id != client_id:
            raise TokenError("invalid_grant", "invalid refresh token")
        if chain.ends_at <= self._clock.timestamp():
            raise TokenError("invalid_grant", "refresh token expired")
        return self._issue(chain)

    def _issue(self, chain: _Chain) -> dict[str, Any]:
        ttl = self._settings.access_token_ttl_seconds
        offline = "offline_access" in chain.scope
        session_id = chain.session_id if offline else None
        if session_id is None or self._sessions.by_id(session_id) is None:
            session = self._open_session(chain, lifetime=None if offline else ttl)
            session_id = session.session_id
        if offline:
            chain.session_id = session_id
        access = secrets.token_urlsafe(32)
        self._access[access] = _Access(
            chain=chain, expires_at=self._clock.timestamp() + ttl, session_id=session_id
        )
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": int(ttl),
            "token_type": "Bearer",
            "scope": " ".join(chain.scope),
        }
        if offline:
            chain.refresh_token = secrets.token_urlsafe(32)
            self._refresh[chain.refresh_token] = chain
            answer["refresh_token"] = chain.refresh_token
        if "openid" in chain.scope:
            answer["id_token"] = _unsigned_id_token(chain.user, chain.client_id)
        return answer

    def _open_session(self, chain: _Chain, *, lifetime: float | None) -> Session:
        session = self._sessions.open(
            user=chain.user,
            tenant=chain.tenant,
            branch=self._default_branch(chain.tenant),
            kind="oauth",
            lifetime_seconds=lifetime,
        )
        if session is None:
            raise TokenError("invalid_grant", "API Login Limit", login_limit=True)
        return session

    def _default_branch(self, tenant: str) -> str:
        record = self._state.get("tenants", tenant) or {}
        return str(record.get("default_branch", ""))

    def session_for(self, access_token: str) -> Session | None:
        """The session behind a live bearer token; a token whose session ended gets a new one.

        Raises `TokenError(login_limit=True)` when that new session finds no free seat.
        """
        entry = self._access.get(access_token)
        if entry is None or entry.expires_at <= self._clock.timestamp():
            return None
        if entry.session_id is not None:
            session = self._sessions.by_id(entry.session_id)
            if session is not None:
                return session
        offline = "offline_access" in entry.chain.scope
        session = self._open_session(entry.chain, lifetime=None if offline else (
            entry.expires_at - self._clock.timestamp()))  # fmt: skip
        entry.session_id = session.session_id
        if offline:
            entry.chain.session_id = session.session_id
        return session


def _unsigned_id_token(subject: str, audience: str) -> str:
    """A structurally valid JWT (alg none [I]): the sandbox signs no identity tokens."""

    def part(value: str) -> str:
        return base64.urlsafe_b64encode(value.encode()).rstrip(b"=").decode()

    header = part('{"alg":"none","typ":"JWT"}')
    claims = part(f'{{"sub":"{subject}","aud":"{audience}"}}')
    return f"{header}.{claims}."
