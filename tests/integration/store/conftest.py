"""State store backends for the contract suite: a SQLite file and a PostgreSQL database.

PostgreSQL: ``postgres_server_url`` starts a private cluster for the session
(scripts/postgres-start.sh, in .cache/ on a free port) and stops it at the
end, unless ``MLC_TEST_POSTGRES_URL`` names a running server. Each test gets a
fresh database on it, so tests never see each other's rows. When PostgreSQL
is not installed and cannot be installed, the PostgreSQL cases are skipped
with the script's explanation; nothing else skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from services.runtime.store import StateStore

ROOT = Path(__file__).resolve().parents[3]
POSTGRES_START = ROOT / "scripts" / "postgres-start.sh"
POSTGRES_STOP = ROOT / "scripts" / "postgres-stop.sh"
# scripts/postgres-start.sh exits with 3 when PostgreSQL cannot be had at all.
POSTGRES_NOT_INSTALLED = 3
# initdb and start take under a second here; installing the package takes minutes.
POSTGRES_START_TIMEOUT_S = 600


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """``postgresql+asyncpg://`` URL of a server on which tests may create databases."""
    existing = os.environ.get("MLC_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    # Under .cache/ rather than /tmp/pytest-of-*: that is private to root, and the
    # server runs as the 'postgres' user when the tests run as root.
    directory = ROOT / ".cache" / f"postgres-test-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [str(POSTGRES_START), str(directory), str(_free_port())],
        capture_output=True,
        text=True,
        timeout=POSTGRES_START_TIMEOUT_S,
        check=False,
    )
    if result.returncode == POSTGRES_NOT_INSTALLED:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip(f"PostgreSQL is not available: {result.stderr.strip()}")
    if result.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(
            f"scripts/postgres-start.sh failed (exit {result.returncode}):\n{result.stderr}",
            pytrace=False,
        )
    try:
        yield result.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(
            [str(POSTGRES_STOP), str(directory)], capture_output=True, timeout=120, check=False
        )
        shutil.rmtree(directory, ignore_errors=True)


async def _run_as_admin(server_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def postgres_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh, empty database on the session's server, dropped afterwards."""
    name = f"mlc_test_{uuid.uuid4().hex[:12]}"
    await _run_as_admin(postgres_server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _run_as_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty state store URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store' / 'state.db'}"
    return str(request.getfixturevalue("postgres_database_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StateStore]:
    """A migrated state store on each backend."""
    opened = await StateStore.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()
