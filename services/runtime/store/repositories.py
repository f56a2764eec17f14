"""The state store as services use it: one transaction, every repository bound to it.

::

    store = await StateStore.open(settings.database_url)
    async with store.transaction() as tx:
        if await tx.ledger.claim("freshbooks", message_key):
            ...
            await tx.audit_log.append(actor="freshbooks", action="bill.created", subject=key)

Leaving the block commits; an exception rolls everything in it back, the
ledger claim included, so a redelivered message is handled again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.runtime.settings import RuntimeSettings
from services.runtime.store.audit_log import AuditLog
from services.runtime.store.configuration import Connections, Credentials, Links, Mappings
from services.runtime.store.console_sessions import ConsoleSessions
from services.runtime.store.engine import SQLITE_BUSY_TIMEOUT_S, create_engine, is_in_memory
from services.runtime.store.leases import Leases
from services.runtime.store.read_model import ReadModel
from services.runtime.store.replays import Replays
from services.runtime.store.review_queue import ReviewQueue
from services.runtime.store.schema import migrate
from services.runtime.store.sync_state import CrossReferences, IdempotencyLedger, Watermarks
from services.runtime.store.write_turn import WriteTurn

__all__ = ["Repositories", "StateStore"]


@dataclass(frozen=True, slots=True)
class Repositories:
    """Every table's repository, sharing one connection and so one transaction."""

    connection: AsyncConnection
    connections: Connections
    credentials: Credentials
    links: Links
    mappings: Mappings
    cross_references: CrossReferences
    watermarks: Watermarks
    ledger: IdempotencyLedger
    leases: Leases
    review_queue: ReviewQueue
    replays: Replays
    read_model: ReadModel
    console_sessions: ConsoleSessions
    audit_log: AuditLog

    @classmethod
    def bound_to(cls, connection: AsyncConnection) -> Repositories:
        return cls(
            connection=connection,
            connections=Connections(connection),
            credentials=Credentials(connection),
            links=Links(connection),
            mappings=Mappings(connection),
            cross_references=CrossReferences(connection),
            watermarks=Watermarks(connection),
            ledger=IdempotencyLedger(connection),
            leases=Leases(connection),
            review_queue=ReviewQueue(connection),
            replays=Replays(connection),
            read_model=ReadModel(connection),
            console_sessions=ConsoleSessions(connection),
            audit_log=AuditLog(connection),
        )


class StateStore:
    """An open state store: an engine plus transactions over it."""

    def __init__(self, engine: AsyncEngine, reader: AsyncEngine | None = None) -> None:
        """``reader``: the engine :meth:`reading` uses (``create_engine(read_only=True)``);
        without one, reads run on ``engine``."""
        self._engine = engine
        self._reader = reader
        # SQLite's one write lock is queued for in the process (write_turn explains why).
        self._write_turn = (
            WriteTurn(timeout_seconds=SQLITE_BUSY_TIMEOUT_S)
            if engine.dialect.name == "sqlite"
            else None
        )

    @classmethod
    async def open(cls, url: str, *, run_migrations: bool = True) -> StateStore:
        """Open the store at ``url`` and (by default) bring its schema to head first."""
        engine = create_engine(url)
        if run_migrations:
            try:
                await migrate(engine)
            except BaseException:
                await engine.dispose()
                raise
        reader = None if is_in_memory(url) else create_engine(url, read_only=True)
        return cls(engine, reader)

    @classmethod
    async def from_settings(
        cls, settings: RuntimeSettings, *, run_migrations: bool = True
    ) -> StateStore:
        """Open the store named by ``MLC_DATABASE_URL``."""
        return await cls.open(settings.database_url, run_migrations=run_migrations)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def write_turn(self) -> WriteTurn | None:
        """This store's writers' queue for SQLite's write lock (a process opens one store);
        None on PostgreSQL."""
        return self._write_turn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repositories]:
        """One transaction: committed when the block ends, rolled back if it raises.

        On SQLite it waits for the process's write turn first (:mod:`.write_turn`).
        """
        turn = self._write_turn.taken() if self._write_turn is not None else nullcontext()
        async with turn, self._engine.begin() as connection:
            yield Repositories.bound_to(connection)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Repositories]:
        """One transaction that only reads: it waits for no writer and takes no lock.

        For lookups (a connection, its credentials, a watermark) that decide nothing
        written in the same breath; read-then-write sequences stay in :meth:`transaction`.
        A write in it fails (SQLite: ``query_only``; PostgreSQL: a read-only transaction).
        """
        async with (self._reader or self._engine).begin() as connection:
            yield Repositories.bound_to(connection)

    async def close(self) -> None:
        await self._engine.dispose()
        if self._reader is not None:
            await self._reader.dispose()
