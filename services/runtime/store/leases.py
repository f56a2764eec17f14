"""Leases: named, expiring locks in the state store.

A schedule runs in every replica; only the one holding the tick's lease fires
it. Acquiring is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired or
ours`` statement, so of two contenders the database lets exactly one win, and
a holder that died stops blocking others once its lease expires.

A request window (:meth:`Leases.take_window_place`) is leases too: one per request
counted, named ``<window>#<holder>``, so every replica of a service counts the same
requests (``services.runtime.shared_budget``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from schemas.envelope import utcnow
from services.runtime.store.records import Lease
from services.runtime.store.statements import Repository, insert_on_conflict
from services.runtime.store.tables import leases

__all__ = ["BULK_HOLDER_PREFIX", "Leases"]

BULK_HOLDER_PREFIX = "bulk-"
"""A window place whose holder starts so counts against the window's bulk share too."""

# The row every taker of one window writes first: it serialises them (PostgreSQL locks the
# row until commit; SQLite's writers are serial anyway), so two cannot both see room.
_WINDOW_LOCK_HOLDER = "window"


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

    async def take_window_place(
        self,
        window: str,
        holder: str,
        *,
        requests: int,
        bulk_requests: int,
        ttl: timedelta,
        now: datetime | None = None,
    ) -> float | None:
        """Count one request in ``window`` if it has room (None), or the seconds until a
        place may free.

        A place is a lease ``<window>#<holder>`` that expires at ``now + ttl`` (a holder
        that dies frees it then) until :meth:`stamp_window_place` moves its expiry to
        the answer's time plus the window's length. Places of a holder starting with
        :data:`BULK_HOLDER_PREFIX` may be at most ``bulk_requests``.
        """
        at = now or utcnow()
        await self._connection.execute(
            insert_on_conflict(
                self._connection,
                leases,
                {
                    "name": window,
                    "holder": _WINDOW_LOCK_HOLDER,
                    "expires_at": at,
                    "acquired_at": at,
                },
                conflict=("name",),
                update_columns=("acquired_at",),
            )
        )
        places = leases.c.name.startswith(f"{window}#", autoescape=True)
        await self._connection.execute(delete(leases).where(places, leases.c.expires_at <= at))
        taken = (
            await self._connection.execute(
                select(leases.c.holder, leases.c.expires_at).where(places)
            )
        ).all()
        bulk = [row for row in taken if row.holder.startswith(BULK_HOLDER_PREFIX)]
        full = [taken] if len(taken) >= requests else []
        if holder.startswith(BULK_HOLDER_PREFIX) and len(bulk) >= bulk_requests:
            full.append(bulk)
        if full:
            # Room comes when a place of every full count has expired: the later of the two.
            frees: list[datetime] = [min(row.expires_at for row in rows) for rows in full]
            return (max(frees) - at).total_seconds()
        await self._connection.execute(
            leases.insert().values(
                name=f"{window}#{holder}", holder=holder, expires_at=at + ttl, acquired_at=at
            )
        )
        return None

    async def stamp_window_place(
        self, window: str, holder: str, *, length: timedelta, now: datetime | None = None
    ) -> bool:
        """The request holding this place was answered: it counts for ``length`` from now."""
        at = now or utcnow()
        result = await self._connection.execute(
            update(leases)
            .where(leases.c.name == f"{window}#{holder}", leases.c.holder == holder)
            .values(expires_at=at + length)
        )
        return result.rowcount == 1
