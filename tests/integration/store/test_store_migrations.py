"""Migrations bring an empty store to the shape tables.py describes, once, even when raced."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from services.runtime.store import create_engine, head_revision, migrate, schema_revision
from services.runtime.store.schema import SCHEMA_HEAD
from services.runtime.store.tables import metadata

ROOT = Path(__file__).resolve().parents[3]


def _schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrating_twice_leaves_the_schema_at_head(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await schema_revision(engine) is None
        await migrate(engine)
        await migrate(engine)
        assert await schema_revision(engine) == head_revision()
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert set(metadata.tables) <= tables
    finally:
        await engine.dispose()


async def test_the_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_schema_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_two_processes_migrating_at_once_both_succeed(database_url: str) -> None:
    first, second = create_engine(database_url), create_engine(database_url)
    try:
        await asyncio.gather(migrate(first), migrate(second))
        assert await schema_revision(first) == head_revision()
        assert await schema_revision(second) == head_revision()
    finally:
        await first.dispose()
        await second.dispose()


def test_the_schema_head_constant_names_the_newest_migration() -> None:
    # A new migration must move SCHEMA_HEAD too, or every start would run Alembic for nothing
    # (and a store at the new head would be migrated again at each start).
    assert head_revision() == SCHEMA_HEAD


async def test_a_store_at_head_is_migrated_without_importing_alembic(database_url: str) -> None:
    await migrate(database_url)
    # A fresh interpreter, as a service starts: the check at head must not load Alembic.
    check = (
        "import asyncio, sys\n"
        "from services.runtime.store.schema import migrate\n"
        f"asyncio.run(migrate({database_url!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-c", check, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    out, _ = await done.communicate()
    assert done.returncode == 0
    assert out.decode().strip() == "[]"
