"""Console sign-in sessions: who holds a cookie, until when, and the form token it carries.

The cookie itself is never stored, only its SHA-256: a copy of the store signs nobody in.
Signing out ends the row at once (a stolen cookie stops working then, not at expiry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update

from services.runtime.store.statements import Repository
from services.runtime.store.tables import console_sessions

__all__ = ["ConsoleSession", "ConsoleSessions"]


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    token_hash: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None


class ConsoleSessions(Repository):
    """The console's sessions."""

    async def start(
        self, *, token_hash: str, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None:
        # Sessions that ended or expired are of no use to anyone: drop them as new ones start.
        table = console_sessions
        await self._connection.execute(delete(table).where(table.c.expires_at < now))
        await self._connection.execute(
            insert(table).values(
                token_hash=token_hash,
                csrf_token=csrf_token,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def live(self, token_hash: str, *, now: datetime) -> ConsoleSession | None:
        """The session of this cookie hash, if it has neither ended nor expired."""
        table = console_sessions
        row = (
            await self._connection.execute(
                select(table).where(
                    and_(
                        table.c.token_hash == token_hash,
                        table.c.ended_at.is_(None),
                        table.c.expires_at > now,
                    )
                )
            )
        ).first()
        return None if row is None else ConsoleSession(**row._asdict())

    async def end(self, token_hash: str, *, now: datetime) -> None:
        table = console_sessions
        await self._connection.execute(
            update(table).where(table.c.token_hash == token_hash).values(ended_at=now)
        )
