"""Opening the state store: one async engine for SQLite or PostgreSQL.

SQLite is the embedded default (one file per deployment). Several processes
may share that file, so every connection turns on WAL (readers never wait for
the writer), foreign keys (off by default in SQLite) and a busy timeout (a
writer waits for the file lock instead of failing at once). Every transaction
starts with ``BEGIN IMMEDIATE``: the write lock is taken up front, so two
writers queue on the busy timeout rather than both reading a snapshot and one
failing with "database is locked" when it tries to upgrade to a write. (The writers
of one process queue in the process before that, see ``write_turn``.) A transaction
that only reads (``StateStore.reading``) runs on a reader engine of its own instead
(``read_only=True``): its transactions begin deferred and take no lock, so the lookups
every message makes (its connection, its credentials) never queue behind another
process's writes, and its connections may not write (SQLite ``PRAGMA query_only``, set
once per connection; PostgreSQL read-only transactions).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from services.runtime.store.errors import StoreError
from services.runtime.store.file_modes import (
    create_owner_only_sqlite_file,
    make_owner_only_directories,
)

__all__ = ["DATABASE_URL_VARIABLE", "create_engine", "describe_url", "is_in_memory"]

DATABASE_URL_VARIABLE = "MLC_DATABASE_URL"

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"

# How long connecting to PostgreSQL may take before it counts as unreachable, in seconds.
POSTGRES_CONNECT_TIMEOUT_S = 10.0
# How long a SQLite writer waits for another process's write lock, in seconds.
SQLITE_BUSY_TIMEOUT_S = 30.0


def describe_url(url: str | URL) -> str:
    """The URL as it may be shown in messages and logs: the password is masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def create_engine(url: str | URL, *, echo: bool = False, read_only: bool = False) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``.

    For SQLite the file is created owner-only (0600) with any missing directory
    (0700), and an existing store open to other users is refused with
    StorePermissionError naming the ``chmod`` that fixes it (see
    :mod:`services.runtime.store.file_modes`); a PostgreSQL URL has no local
    file to check. Nothing connects yet: the first query (or
    :func:`services.runtime.store.migrate`) does.
    """
    parsed = _parse(url)
    driver = parsed.drivername
    if driver == SQLITE_DRIVER:
        return _create_sqlite_engine(parsed, echo=echo, read_only=read_only)
    if driver == POSTGRES_DRIVER:
        return _create_async_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            connect_args={"timeout": POSTGRES_CONNECT_TIMEOUT_S},
            execution_options={"postgresql_readonly": True} if read_only else {},
        )
    msg = (
        f"{DATABASE_URL_VARIABLE}={describe_url(parsed)} uses the driver {driver!r}; "
        f"use {SQLITE_DRIVER}:///path/to/state.db or {POSTGRES_DRIVER}://user@host/db"
    )
    raise StoreError(msg)


def _parse(url: str | URL) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        msg = (
            f"{DATABASE_URL_VARIABLE} is not a database URL; "
            f"use {SQLITE_DRIVER}:///path/to/state.db or {POSTGRES_DRIVER}://user@host/db"
        )
        raise StoreError(msg) from None


def _create_async_engine(url: URL, *, echo: bool, **options: Any) -> AsyncEngine:  # noqa: ANN401
    try:
        return create_async_engine(url, echo=echo, **options)
    except (ArgumentError, NoSuchModuleError, TypeError) as exc:
        msg = f"{DATABASE_URL_VARIABLE}={describe_url(url)} cannot be used: {exc}"
        raise StoreError(msg) from None


def is_in_memory(url: str | URL) -> bool:
    """An in-memory SQLite database: it lives in its one connection, so one engine only."""
    parsed = _parse(url)
    database = parsed.database or ""
    return parsed.drivername == SQLITE_DRIVER and (
        database in ("", ":memory:") or database.startswith("file::memory:")
    )


def _create_sqlite_engine(url: URL, *, echo: bool, read_only: bool) -> AsyncEngine:
    database = url.database or ""
    in_memory = is_in_memory(url)
    if not in_memory:
        path = Path(database).expanduser()
        try:
            make_owner_only_directories(path.parent)
        except OSError as exc:
            msg = (
                f"{DATABASE_URL_VARIABLE}={describe_url(url)}: cannot create the directory "
                f"{path.parent}: {exc.strerror}"
            )
            raise StoreError(msg) from None
        try:
            create_owner_only_sqlite_file(path)
        except OSError as exc:
            msg = (
                f"{DATABASE_URL_VARIABLE}={describe_url(url)}: cannot create the file "
                f"{path}: {exc.strerror}"
            )
            raise StoreError(msg) from None
    # An in-memory database lives and dies with its connection: share one.
    pooling: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = _create_async_engine(
        url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **pooling
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure_sqlite_connection(dbapi_connection: Any, _record: object) -> None:  # noqa: ANN401 - the DBAPI connection is untyped
        # The driver must not issue its own deferred BEGIN; _begin_immediate does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if not in_memory:
                _switch_to_wal(cursor)
            cursor.execute("PRAGMA foreign_keys = ON")
            # WAL with synchronous=NORMAL is durable across application crashes,
            # and a power loss can lose only the last commits, never corrupt.
            cursor.execute("PRAGMA synchronous = NORMAL")
            if read_only:
                # A write through a reader fails at once instead of taking the write lock.
                cursor.execute("PRAGMA query_only = ON")
        finally:
            cursor.close()

    # A reader takes no lock: it sees the last commit and never waits for a writer.
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _switch_to_wal(cursor: Any) -> None:  # noqa: ANN401 - the DBAPI cursor is untyped
    """``PRAGMA journal_mode = WAL``, waiting out another process doing the same.

    SQLite answers "database is locked" at once, without its busy handler, when two
    connections switch a new database's journal mode together (two replicas starting on
    one fresh file): the switch is tried again until the busy timeout, as any write waits.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)  # this hook runs on the driver's own thread, not the event loop
