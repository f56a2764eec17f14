"""API sessions and the license's API-user seats, on the sandbox clock.

Sheet section 3b: every open session (a cookie sign-in or an OAuth grant) holds one of the
license's "Maximum Number of Web Services API Users" seats (trial: 2); with all taken a new
sign-in is refused with "API Login Limit"; a forgotten session closes after 10 idle
minutes; logout frees the seat at once. OAuth `api`-only sessions also end after one hour.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from sandboxes.kit import SandboxClock

__all__ = ["Session", "SessionTable"]


@dataclass
class Session:
    session_id: str
    auth_cookie: str
    user: str
    tenant: str
    branch: str
    kind: Literal["cookie", "oauth"]
    opened_at: float
    last_seen: float
    ends_at: float | None = None


class SessionTable:
    """Open sessions of one instance; `open` returns None when every seat is taken."""

    def __init__(self, clock: SandboxClock, *, seats: int, idle_seconds: float) -> None:
        self._clock = clock
        self.seats = seats
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}

    def _prune(self) -> None:
        now = self._clock.timestamp()
        for session_id, session in list(self._sessions.items()):
            idle = now - session.last_seen >= self.idle_seconds
            over = session.ends_at is not None and now >= session.ends_at
            if idle or over:
                del self._sessions[session_id]

    def open(
        self,
        *,
        user: str,
        tenant: str,
        branch: str,
        kind: Literal["cookie", "oauth"],
        lifetime_seconds: float | None = None,
    ) -> Session | None:
        self._prune()
        if len(self._sessions) >= self.seats:
            return None
        now = self._clock.timestamp()
        session = Session(
            session_id=secrets.token_hex(12),
            auth_cookie=secrets.token_hex(32).upper(),
            user=user,
            tenant=tenant,
            branch=branch,
            kind=kind,
            opened_at=now,
            last_seen=now,
            ends_at=None if lifetime_seconds is None else now + lifetime_seconds,
        )
        self._sessions[session.session_id] = session
        return session

    def by_cookie(self, auth_cookie: str) -> Session | None:
        """The live session behind an `.ASPXAUTH` value (touched: it is in use)."""
        self._prune()
        for session in self._sessions.values():
            if secrets.compare_digest(session.auth_cookie, auth_cookie):
                session.last_seen = self._clock.timestamp()
                return session
        return None

    def by_id(self, session_id: str) -> Session | None:
        self._prune()
        session = self._sessions.get(session_id)
        if session is not None:
            session.last_seen = self._clock.timestamp()
        return session

    def close(self, session_id: str) -> bool:
        return self._sessions.pop(session_id, None) is not None

    def count(self) -> int:
        self._prune()
        return len(self._sessions)

    def clear(self) -> None:
        self._sessions.clear()
