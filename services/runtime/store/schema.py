"""Bringing a state store's schema to the newest migration.

Every service calls :func:`migrate` at startup, so several processes may do so
at the same moment. Each runs the whole upgrade in one transaction after
taking a lock that the others wait on: a PostgreSQL advisory lock, or on
SQLite the file's write lock (``BEGIN IMMEDIATE``, see ``engine.py``). The
second process then finds the schema already at head and does nothing.

A store already at :data:`SCHEMA_HEAD` (every start but a deployment's first) is told
so by one read of ``alembic_version``, and Alembic is never imported: it and Mako held
about 9 MB of every service's memory for a check that found nothing to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.runtime.store.engine import DATABASE_URL_VARIABLE, create_engine, describe_url
from services.runtime.store.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["SCHEMA_HEAD", "head_revision", "migrate", "schema_revision"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SCHEMA_HEAD: Final = "0005"
"""The newest migration's revision; a test holds it equal to what Alembic finds."""

# pg_advisory_xact_lock key: "mlc_stor" as a big-endian 64-bit integer.
_MIGRATION_LOCK_KEY = int.from_bytes(b"mlc_stor", "big")


async def migrate(target: AsyncEngine | str) -> None:
    """Upgrade the schema to head; safe to call again and from several processes at once.

    Raises StoreError (naming ``MLC_DATABASE_URL``) when the database cannot be reached.
    """
    engine = create_engine(target) if isinstance(target, str) else target
    try:
        async with _connect(engine) as connection:
            await _lock_for_migration(connection)
            if await _stored_revision(connection) != SCHEMA_HEAD:
                await connection.run_sync(_upgrade_to_head)
            await connection.commit()
    finally:
        if isinstance(target, str):
            await engine.dispose()


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - see the docstring

    async with _connect(engine) as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def head_revision() -> str:
    """The newest revision shipped with this code, as Alembic finds it in the scripts."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see the docstring

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        msg = f"no migrations found in {MIGRATIONS_DIR}"
        raise StoreError(msg)
    return head


class _connect:  # noqa: N801 - used like the function-style context managers it wraps
    """``engine.connect()`` whose connection failures name MLC_DATABASE_URL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncConnection:
        try:
            self._connection = await self._engine.connect()
            # Starts the transaction, which on SQLite already takes the write lock.
            await self._connection.execute(text("SELECT 1"))
        except (DBAPIError, OSError, TimeoutError) as exc:
            if self._connection is not None:
                await self._connection.close()
            reason = getattr(exc, "orig", None) or exc
            msg = (
                f"{DATABASE_URL_VARIABLE}={describe_url(self._engine.url)}: "
                f"cannot open the state store: {type(reason).__name__}: {reason}"
            )
            raise StoreError(msg) from None
        return self._connection

    async def __aexit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            await self._connection.close()


async def _lock_for_migration(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        # Released by the commit (or rollback) that ends this transaction.
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
        )


async def _stored_revision(connection: AsyncConnection) -> str | None:
    """The revision ``alembic_version`` holds; None before the first migration."""
    try:
        async with connection.begin_nested():
            stored = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:  # no such table yet
        return None
    return None if stored is None else str(stored)


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see the docstring

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade_to_head(connection: Connection) -> None:
    from alembic import command  # noqa: PLC0415 - see the docstring

    command.upgrade(_alembic_config(connection), "head")
