"""Benchmark 5: idempotency-ledger claims per second on the state store's backends.

Each claim is its own transaction, as a handler makes it (``async with
store.transaction()`` around ``ledger.claim``), so every claim pays a commit:
on SQLite a WAL append (synchronous=NORMAL, so no fsync per commit), on
PostgreSQL a round trip and a WAL flush.

PostgreSQL is a private cluster from scripts/postgres-start.sh (stopped and
removed afterwards), or the server ``MLC_TEST_POSTGRES_URL`` names, on which a
fresh database is created and dropped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.results import Measurement, Target, rate_of_async, skipped
from devstack.ports import free_port
from services.runtime import StateStore

__all__ = ["TARGETS", "PostgresUnavailableError", "measure_ledger", "postgres_database"]

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_START = ROOT / "scripts" / "postgres-start.sh"
POSTGRES_STOP = ROOT / "scripts" / "postgres-stop.sh"
# scripts/postgres-start.sh exits with 3 when PostgreSQL cannot be had at all.
POSTGRES_NOT_INSTALLED = 3
POSTGRES_SCRIPT_TIMEOUT_S = 120.0
SERVICE = "bench"

TARGETS = {
    "sqlite": Target(
        300,
        "at_least",
        "one claim per handled message, so the ledger must keep up with the consumer's own "
        "commit rate (this machine: 650-1,150/s depending on load)",
    ),
    "postgresql": Target(
        200,
        "at_least",
        "as for SQLite, plus a loopback round trip and a WAL flush per commit "
        "(this machine: 500-850/s)",
    ),
}


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be started or reached."""


async def _claim_rate(url: str, *, count: int, warm_up: int) -> float:
    store = await StateStore.open(url)
    run = uuid.uuid4().hex

    async def claim(index: int) -> None:
        async with store.transaction() as repos:
            if not await repos.ledger.claim(SERVICE, f"{run}:{index}"):
                msg = f"claim {index} was refused although it is new"
                raise AssertionError(msg)

    try:
        return await rate_of_async(claim, count=count, warm_up=warm_up)
    finally:
        await store.close()


async def _script(*arguments: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *arguments, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=POSTGRES_SCRIPT_TIMEOUT_S)
    return process.returncode or 0, out.decode(), err.decode()


async def _run_as_admin(server_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def _postgres_server() -> AsyncIterator[str]:
    existing = os.environ.get("MLC_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    # Under .cache/, not /tmp: a root-run script hands the cluster to the 'postgres'
    # user, who cannot enter a private temporary directory.
    directory = ROOT / ".cache" / f"postgres-bench-{uuid.uuid4().hex[:8]}"
    status, out, err = await _script(str(POSTGRES_START), str(directory), str(free_port()))
    if status != 0:
        shutil.rmtree(directory, ignore_errors=True)
        reason = "not installed" if status == POSTGRES_NOT_INSTALLED else f"exit {status}"
        msg = f"scripts/postgres-start.sh: {reason}: {err.strip()[-300:]}"
        raise PostgresUnavailableError(msg)
    try:
        yield out.strip().splitlines()[-1]
    finally:
        await _script(str(POSTGRES_STOP), str(directory))
        shutil.rmtree(directory, ignore_errors=True)


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped (and its server stopped) after."""
    async with _postgres_server() as server_url:
        name = f"mlc_bench_{uuid.uuid4().hex[:12]}"
        await _run_as_admin(server_url, f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            await _run_as_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def measure_ledger(
    *, count: int, warm_up: int = 50, with_postgres: bool = True
) -> list[Measurement]:
    """Claims per second on a SQLite file (WAL) and, when one can be had, on PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="mlc-bench-sqlite-") as directory:
        sqlite_url = f"sqlite+aiosqlite:///{directory}/state.db"
        sqlite_rate = await _claim_rate(sqlite_url, count=count, warm_up=warm_up)
    rows = [
        Measurement("ledger claims, SQLite file (WAL)", sqlite_rate, "claims/s", TARGETS["sqlite"])
    ]
    postgres_name = "ledger claims, PostgreSQL"
    if not with_postgres:
        rows.append(skipped(postgres_name, "claims/s", "not requested", TARGETS["postgresql"]))
        return rows
    try:
        async with postgres_database() as postgres_url:
            postgres_rate = await _claim_rate(postgres_url, count=count, warm_up=warm_up)
    except PostgresUnavailableError as exc:
        rows.append(
            skipped(
                postgres_name,
                "claims/s",
                f"PostgreSQL not available ({exc})",
                TARGETS["postgresql"],
            )
        )
        return rows
    rows.append(Measurement(postgres_name, postgres_rate, "claims/s", TARGETS["postgresql"]))
    return rows
