"""OAuth 2.0 authorization-code grants, the common part: clients, codes, tokens, refresh.

Each vendor serves its own authorize/token endpoints (paths, parameter spellings, JSON
shapes, error bodies) and calls this helper for the rules that are the same everywhere. The
vendor's quirks are the `OAuthPolicy`: lifetimes (on the sandbox clock), whether a refresh
rotates the refresh token and whether the old one then stops working, whether a refresh
token needs a scope such as `offline_access`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sandboxes.kit.clock import SandboxClock

__all__ = ["Grant", "IssuedTokens", "OAuthClient", "OAuthError", "OAuthPolicy", "OAuthProvider"]


class OAuthError(Exception):
    """An OAuth failure in RFC 6749 terms; the vendor decides how to render it."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class OAuthPolicy:
    code_ttl_seconds: float = 600.0
    access_ttl_seconds: float = 3600.0
    refresh_ttl_seconds: float | None = None
    rotate_refresh_token: bool = False
    reject_rotated_refresh_token: bool = True
    refresh_requires_scope: str | None = None


@dataclass(frozen=True)
class Grant:
    """Who authorised which client for what; `extra` carries vendor context (e.g. a tenant)."""

    client_id: str
    subject: str
    scope: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str | None
    grant: Grant


@dataclass
class _Code:
    grant: Grant
    redirect_uri: str
    expires_at: float


@dataclass
class _Token:
    grant: Grant
    expires_at: float | None


class OAuthProvider:
    """Issues and checks codes and tokens for registered clients on the sandbox clock."""

    def __init__(self, clock: SandboxClock, policy: OAuthPolicy | None = None) -> None:
        self._clock = clock
        self.policy = policy or OAuthPolicy()
        self.clients: dict[str, OAuthClient] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}

    def register_client(self, client: OAuthClient) -> None:
        self.clients[client.client_id] = client

    def _client(self, client_id: str, client_secret: str | None = None) -> OAuthClient:
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError("invalid_client", "unknown client_id", status=401)
        if client_secret is not None and not secrets.compare_digest(
            client.client_secret, client_secret
        ):
            raise OAuthError("invalid_client", "client authentication failed", status=401)
        return client

    def authorize(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        state: str | None,
        scope: tuple[str, ...],
        subject: str,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Auto-consent for `subject`: the URL to redirect the browser to (code and state)."""
        client = self._client(client_id)
        if redirect_uri not in client.redirect_uris:
            # Never redirect to an unregistered URI: the error goes to the browser instead.
            raise OAuthError("invalid_request", "redirect_uri does not match a registered one")
        code = secrets.token_urlsafe(24)
        grant = Grant(client_id=client_id, subject=subject, scope=scope, extra=dict(extra or {}))
        self._codes[code] = _Code(
            grant=grant,
            redirect_uri=redirect_uri,
            expires_at=self._clock.timestamp() + self.policy.code_ttl_seconds,
        )
        params = {"code": code}
        if state is not None:
            params["state"] = state
        parts = urlsplit(redirect_uri)
        query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

    def exchange_code(
        self, *, client_id: str, client_secret: str, code: str, redirect_uri: str | None
    ) -> IssuedTokens:
        """Trade a code (single use, short-lived) for tokens."""
        self._client(client_id, client_secret)
        entry = self._codes.pop(code, None)
        if entry is None or entry.grant.client_id != client_id:
            raise OAuthError("invalid_grant", "unknown or already used authorization code")
        if entry.expires_at <= self._clock.timestamp():
            raise OAuthError("invalid_grant", "authorization code expired")
        if redirect_uri != entry.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorize request")
        return self._issue(entry.grant, with_refresh=True)

    def refresh(self, *, client_id: str, client_secret: str, refresh_token: str) -> IssuedTokens:
        """A new access token; with rotation also a new refresh token (the old one dies)."""
        self._client(client_id, client_secret)
        entry = self._refresh.get(refresh_token)
        if entry is None or entry.grant.client_id != client_id:
            raise OAuthError("invalid_grant", "unknown or revoked refresh token")
        if entry.expires_at is not None and entry.expires_at <= self._clock.timestamp():
            raise OAuthError("invalid_grant", "refresh token expired")
        if self.policy.rotate_refresh_token:
            if self.policy.reject_rotated_refresh_token:
                del self._refresh[refresh_token]
            return self._issue(entry.grant, with_refresh=True)
        tokens = self._issue(entry.grant, with_refresh=False)
        return IssuedTokens(
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            refresh_token=None,
            grant=tokens.grant,
        )

    def _issue(self, grant: Grant, *, with_refresh: bool) -> IssuedTokens:
        now = self._clock.timestamp()
        access = secrets.token_urlsafe(32)
        self._access[access] = _Token(grant=grant, expires_at=now + self.policy.access_ttl_seconds)
        refresh: str | None = None
        needed = self.policy.refresh_requires_scope
        if with_refresh and (needed is None or needed in grant.scope):
            refresh = secrets.token_urlsafe(32)
            ttl = self.policy.refresh_ttl_seconds
            self._refresh[refresh] = _Token(
                grant=grant, expires_at=None if ttl is None else now + ttl
            )
        return IssuedTokens(
            access_token=access,
            expires_in=int(self.policy.access_ttl_seconds),
            refresh_token=refresh,
            grant=grant,
        )

    def authenticate(self, access_token: str) -> Grant | None:
        """The grant behind a live access token; None if unknown or expired."""
        entry = self._access.get(access_token)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self._clock.timestamp():
            return None
        return entry.grant

    def reset(self) -> None:
        """Forget codes and tokens (registered clients stay)."""
        self._codes.clear()
        self._access.clear()
        self._refresh.clear()
