"""One write transaction at a time per open SQLite store (a process opens one).

SQLite has one write lock per database file. A writer that finds it taken waits in
SQLite's busy handler, which sleeps in steps (1, 2, 5, ... up to 100 ms) and then looks
again, whatever happened to the lock in between. Under load most writers therefore sleep
past the moment the lock was freed, and the lock is not handed out in the order it was
asked for. In flow 1 at 50 changes a second (about five write transactions per change,
in three processes) that sleeping was most of a change's 2 to 4 seconds: with the writers
of each process queued here, the same run landed a change in about 120 ms (issue 17,
goal 1; the freshness row of ``make bench``).

So the writers of one process queue here, in the order they asked, and each is woken
the moment the one before it has committed. Only writers of different processes still
meet in SQLite's busy handler. A writer waiting here holds no pooled connection, and so
no driver thread.

PostgreSQL locks rows, not the database: its writers take no turn.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import OperationalError

from services.runtime.store.errors import StoreError

__all__ = ["WriteTurn"]


class WriteTurn:
    """The process's queue for a SQLite store's write lock (see the module)."""

    def __init__(self, *, timeout_seconds: float) -> None:
        """``timeout_seconds``: how long a writer waits for its turn before it fails, as
        long as SQLite's own busy timeout would have let it wait for the lock."""
        self._lock = asyncio.Lock()
        self._timeout_seconds = timeout_seconds
        self._holder: asyncio.Task[object] | None = None
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Writers of this process queued for the turn now."""
        return self._waiting

    @asynccontextmanager
    async def taken(self) -> AsyncIterator[None]:
        """Hold the turn for the block; raises as SQLite would have if it cannot be had.

        A writer still waiting after the timeout gets the ``OperationalError`` ("database
        is locked") that SQLite's busy timeout gives, so callers treat it as they did: the
        store is not available now. A task asking again while it holds the turn gets a
        :class:`StoreError` at once, where it would otherwise wait for itself.
        """
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            msg = (
                "a write transaction was opened inside another one of the same task; "
                "SQLite has one write lock, so it would wait for itself: finish the first"
            )
            raise StoreError(msg)
        self._waiting += 1
        try:
            async with asyncio.timeout(self._timeout_seconds):
                await self._lock.acquire()
        except TimeoutError:
            locked = sqlite3.OperationalError(
                f"database is locked: no write turn in this process within "
                f"{self._timeout_seconds:g} s"
            )
            raise OperationalError("BEGIN IMMEDIATE", None, locked) from None
        finally:
            self._waiting -= 1
        self._holder = task
        try:
            yield
        finally:
            self._holder = None
            self._lock.release()
