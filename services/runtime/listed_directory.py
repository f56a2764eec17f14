"""A vendor's people (or any records) by id and by email: listed once, kept current by our writes.

Matching a new hire by email against a vendor that has no exact email lookup (or whose
lookup is one call per person) costs a backfill a call or a listing per person: against
a limit of a few requests a second, that is most of its time. A directory lists the
records once per scope (a business, an account), again after ``max_age``, takes in the
records our own writes create or change (:meth:`ListedDirectory.remember`), and lists
again whenever the caller knows something may have happened that this process did not
see (``relist``): a reference naming a record it does not hold, or a create announced by
an attempt that never recorded its outcome (a crash, or another replica).

What a directory may miss is a record someone else made since the listing, for at most
``max_age``; each vendor's sink says what it does about that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from schemas.envelope import utcnow

__all__ = ["ListedDirectory"]

T = TypeVar("T")


@dataclass
class _Listing(Generic[T]):
    listed_at: datetime
    by_id: dict[str, T] = field(default_factory=dict)
    by_email: dict[str, T] = field(default_factory=dict)


class ListedDirectory(Generic[T]):
    """One per process and kind of record, shared by every link writing to the same scope."""

    def __init__(
        self,
        *,
        max_age: timedelta,
        id_of: Callable[[T], str],
        email_of: Callable[[T], str | None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._max_age = max_age
        self._id_of = id_of
        self._email_of = email_of
        self._clock = clock
        self._listings: dict[str, _Listing[T]] = {}
        self._lock = asyncio.Lock()
        self.listings_read = 0
        """How many times a scope was listed (the benchmarks count calls with it)."""

    async def find(
        self,
        scope: str,
        list_all: Callable[[], Awaitable[list[T]]],
        *,
        email: str,
        record_id: str | None = None,
        relist: bool = False,
    ) -> T | None:
        """The record with ``record_id`` (else ``email``) in ``scope``, listed by ``list_all``
        when the listing is missing, old, or ``relist`` says the store saw more."""
        listing = await self._listing(scope, list_all, relist=relist)
        found = self._look_up(listing, email, record_id)
        if found is None and record_id is not None and not relist:
            # Our own bookkeeping names a record we do not hold: someone else made it.
            found = self._look_up(
                await self._listing(scope, list_all, relist=True), email, record_id
            )
        return found

    def remember(self, scope: str, record: T) -> None:
        """A record our own write created or changed, without listing the scope again."""
        listing = self._listings.get(scope)
        if listing is None:
            return
        previous = listing.by_id.get(self._id_of(record))
        if previous is not None:
            old_email = _normal(self._email_of(previous))
            if old_email and listing.by_email.get(old_email) is previous:
                del listing.by_email[old_email]
        self._add(listing, record)

    def _add(self, listing: _Listing[T], record: T) -> None:
        listing.by_id[self._id_of(record)] = record
        email = _normal(self._email_of(record))
        if email:
            # The first listed wins, as the vendor's own order would (the oldest record).
            listing.by_email.setdefault(email, record)

    async def _listing(
        self, scope: str, list_all: Callable[[], Awaitable[list[T]]], *, relist: bool
    ) -> _Listing[T]:
        async with self._lock:
            listing = self._listings.get(scope)
            if relist or listing is None or self._clock() - listing.listed_at > self._max_age:
                listing = _Listing(listed_at=self._clock())
                for record in await list_all():
                    self._add(listing, record)
                self._listings[scope] = listing
                self.listings_read += 1
            return listing

    def _look_up(self, listing: _Listing[T], email: str, record_id: str | None) -> T | None:
        if record_id is not None and record_id in listing.by_id:
            return listing.by_id[record_id]
        return listing.by_email.get(_normal(email))


def _normal(email: str | None) -> str:
    return (email or "").strip().lower()
