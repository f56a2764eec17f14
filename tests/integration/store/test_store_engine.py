"""Opening a store: SQLite is set up for several processes; bad URLs name MLC_DATABASE_URL."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from services.runtime.settings import RuntimeSettings
from services.runtime.store import (
    StateStore,
    StoreError,
    create_engine,
    head_revision,
    migrate,
    schema_revision,
)

ROOT = Path(__file__).resolve().parents[3]


async def test_a_sqlite_store_is_created_with_its_directory_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "state.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            journal = await connection.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
            busy_timeout = await connection.scalar(text("PRAGMA busy_timeout"))
    finally:
        await engine.dispose()
    assert path.exists()
    assert journal == "wal"
    assert foreign_keys == 1
    assert busy_timeout is not None
    assert busy_timeout >= 1000


async def test_an_in_memory_sqlite_store_keeps_its_rows_between_transactions() -> None:
    store = await StateStore.open("sqlite+aiosqlite://")
    try:
        async with store.transaction() as tx:
            await tx.audit_log.append(actor="test", action="wrote", subject="memory")
        async with store.transaction() as tx:
            assert [entry.subject for entry in await tx.audit_log.list()] == ["memory"]
    finally:
        await store.close()


def test_an_unsupported_driver_is_refused_naming_the_variable() -> None:
    with pytest.raises(StoreError, match=r"MLC_DATABASE_URL=mysql://u:\*\*\*@h/db uses the driver"):
        create_engine("mysql://u:pw@h/db")


def test_text_that_is_no_url_is_refused_naming_the_variable() -> None:
    with pytest.raises(StoreError, match="MLC_DATABASE_URL is not a database URL"):
        create_engine("not a url at all")


def test_a_sqlite_path_under_a_file_is_refused_naming_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"MLC_DATABASE_URL=.*cannot create the directory"):
        create_engine(f"sqlite+aiosqlite:///{blocker}/state.db")


async def test_an_unreachable_postgres_is_reported_without_its_password() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # Bound but not listening: connections to it are refused.
        url = f"postgresql+asyncpg://mlc:hunter2-secret@127.0.0.1:{port}/mlc"
        with pytest.raises(StoreError) as raised:
            await migrate(url)
    message = str(raised.value)
    assert message.startswith(f"MLC_DATABASE_URL=postgresql+asyncpg://mlc:***@127.0.0.1:{port}/mlc")
    assert "cannot open the state store" in message
    assert "hunter2" not in message


async def test_the_store_opens_from_runtime_settings(tmp_path: Path) -> None:
    settings = RuntimeSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    store = await StateStore.from_settings(settings)
    try:
        assert await schema_revision(store.engine) == head_revision()
    finally:
        await store.close()


@pytest.mark.process  # starts Python processes: not in make test-fast
async def test_two_processes_starting_at_once_both_migrate_successfully(database_url: str) -> None:
    script = (
        "import asyncio, sys\n"
        "from services.runtime.store import migrate\n"
        "asyncio.run(migrate(sys.argv[1]))\n"
    )
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    results = await asyncio.wait_for(
        asyncio.gather(*(process.communicate() for process in processes)), timeout=120
    )
    assert [process.returncode for process in processes] == [0, 0], [err for _, err in results]
    engine = create_engine(database_url)
    try:
        assert await schema_revision(engine) == head_revision()
    finally:
        await engine.dispose()
