"""The fault suite's PostgreSQL store: a private cluster it can stop, start and cut off.

The stack's default store is a SQLite file one process at a time may write; replicas of
a service share a PostgreSQL server, and that is the store whose faults R2 and R6
measure. The cluster is ``scripts/postgres-start.sh``'s (installed from Debian's package
when missing, as for the tests), in a directory of its own outside the owner-only run dir
(as root, the server runs as the ``postgres`` user, who could not enter it).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.stack import ROOT

__all__ = ["PostgresServer", "PostgresUnavailableError"]

_START = ROOT / "scripts" / "postgres-start.sh"
_STOP = ROOT / "scripts" / "postgres-stop.sh"
_NOT_INSTALLED = 3  # postgres-start.sh's exit status when PostgreSQL cannot be had


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL is not installed and could not be installed; the message says why."""


@dataclass
class PostgresServer:
    """A cluster in ``directory`` on ``port`` (127.0.0.1)."""

    directory: Path
    port: int
    url: str = field(default="", init=False)  # postgresql+asyncpg://..., once started

    async def start(self, *, fresh: bool = False) -> str:
        """Start the cluster (a new, empty one with ``fresh``); its SQLAlchemy URL."""
        if fresh:
            await asyncio.to_thread(self._stop)
            shutil.rmtree(self.directory, ignore_errors=True)
        started = await asyncio.to_thread(
            subprocess.run,
            [str(_START), str(self.directory), str(self.port)],
            capture_output=True,
            text=True,
            check=False,
        )
        if started.returncode == _NOT_INSTALLED:
            raise PostgresUnavailableError(started.stderr.strip())
        if started.returncode != 0:
            msg = f"scripts/postgres-start.sh failed ({started.returncode}):\n{started.stderr}"
            raise RuntimeError(msg)
        self.url = started.stdout.strip().splitlines()[-1]
        return self.url

    async def stop(self) -> None:
        await asyncio.to_thread(self._stop)

    async def remove(self) -> None:
        """Stop the cluster and delete its directory."""
        await self.stop()
        await asyncio.to_thread(shutil.rmtree, self.directory, True)

    def _stop(self) -> None:
        if (self.directory / "data").exists():
            subprocess.run(  # noqa: S603 - our own script
                [str(_STOP), str(self.directory)], capture_output=True, check=False
            )

    async def drop_connections(self) -> int:
        """Terminate every other session on the store's database (the network cut, the
        failover, the idle-session killer of a managed server); how many there were."""
        engine = create_async_engine(self.url)
        try:
            async with engine.connect() as connection:
                dropped = await connection.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        finally:
            await engine.dispose()
        return int(dropped or 0)
