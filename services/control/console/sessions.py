"""Signing in to the console: the operator token once, then an HttpOnly cookie.

A person types ``MLC_OPERATOR_TOKEN`` into the sign-in form (compared in constant time);
the console answers with a random session cookie (HttpOnly, SameSite=Strict, Secure over
HTTPS, scoped to ``/console``) whose SHA-256 the store keeps with the session's form
token. Every form carries that token back (:meth:`ConsoleSessions.form_token_ok`), so a
page elsewhere cannot post to the console in the person's name. Signing out ends the
session in the store; so does its expiry (``MLC_CONSOLE_SESSION_HOURS``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from schemas.envelope import utcnow
from services.runtime.store import StateStore

__all__ = ["COOKIE", "ConsoleSessions", "SignedIn"]

COOKIE = "mlc_console"
PATH = "/console"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: the hash that names it and the token its forms must carry."""

    token_hash: str
    form_token: str


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class ConsoleSessions:
    """Sign-in, the session a request carries, and sign-out, over the store."""

    def __init__(
        self,
        store: StateStore,
        *,
        operator_token: str | None,
        lifetime: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._expected = operator_token.encode() if operator_token else None
        self._lifetime = lifetime
        self._clock = clock

    @property
    def enabled(self) -> bool:
        """Without an operator token there is nothing to sign in with: the console is off."""
        return self._expected is not None

    def token_ok(self, given: str) -> bool:
        return self._expected is not None and hmac.compare_digest(given.encode(), self._expected)

    async def sign_in(self, response: Response, *, secure: bool) -> None:
        """Start a session and set its cookie on ``response``."""
        cookie = secrets.token_urlsafe(32)
        now = self._clock()
        async with self._store.transaction() as tx:
            await tx.console_sessions.start(
                token_hash=_hash(cookie),
                csrf_token=secrets.token_urlsafe(32),
                now=now,
                expires_at=now + self._lifetime,
            )
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(self._lifetime.total_seconds()),
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=secure,
        )

    async def current(self, request: Request) -> SignedIn | None:
        """The request's live session, or None (no cookie, signed out, expired)."""
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        async with self._store.transaction() as tx:
            found = await tx.console_sessions.live(_hash(cookie), now=self._clock())
        return None if found is None else SignedIn(found.token_hash, found.csrf_token)

    @staticmethod
    def form_token_ok(session: SignedIn, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(
            given.encode(), session.form_token.encode()
        )

    async def sign_out(self, session: SignedIn, response: Response) -> None:
        async with self._store.transaction() as tx:
            await tx.console_sessions.end(session.token_hash, now=self._clock())
        response.delete_cookie(COOKIE, path=PATH)
