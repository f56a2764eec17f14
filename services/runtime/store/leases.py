"""Leases: named, expiring locks in the state store.

A schedule runs in every replica; only the one holding the tick's lease fires
it. Acquiring is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired or
ours`` statement, so of two contenders the database lets exactly one win, and
a holder that died stops blocking others once its lease expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from schemas.envelope import utcnow
from services.runtime.store.records import Lease
from services.runtime.store.statements import Repository, insert_on_conflict
from services.runtime.store.tables import leases

__all__ = ["Leases"]


class Leases(Repository):
    """Named, expiring locks: exactly one replica fires a tick while it holds the lease."""

    async def try_acquire(
        self, name: str, holder: str, *, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """Take the lease if it is free, expired, or already ours (then it is extended)."""
        at = now or utcnow()
        statement = insert_on_conflict(
            self._connection,
            leases,
            {"name": name, "holder": holder, "expires_at": at + ttl, "acquired_at": at},
            conflict=("name",),
            update_columns=("holder", "expires_at", "acquired_at"),
            where=or_(leases.c.expires_at <= at, leases.c.holder == holder),
        ).returning(leases.c.name)
        return (await self._connection.execute(statement)).one_or_none() is not None

    async def renew(
        self, name: str, holder: str, *, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """Extend a lease we hold and that has not expired; False means we lost it."""
        at = now or utcnow()
        result = await self._connection.execute(
            update(leases)
            .where(leases.c.name == name, leases.c.holder == holder, leases.c.expires_at > at)
            .values(expires_at=at + ttl)
        )
        return result.rowcount == 1

    async def release(self, name: str, holder: str) -> bool:
        """Give a lease back so another replica need not wait for it to expire."""
        result = await self._connection.execute(
            delete(leases).where(leases.c.name == name, leases.c.holder == holder)
        )
        return result.rowcount == 1

    async def get(self, name: str) -> Lease | None:
        row = (
            await self._connection.execute(select(leases).where(leases.c.name == name))
        ).one_or_none()
        return None if row is None else Lease(**row._asdict())
