"""Two writers at once, as two replicas would be: each on its own engine (own connection pool).

The writes race inside the database, not inside Python: both transactions are
opened before either writes, and each side waits at a barrier until the other
has its transaction open too.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from services.runtime.store import Repositories, StaleRevisionError, StateStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def two_replicas(
    store: StateStore, database_url: str
) -> AsyncIterator[tuple[StateStore, StateStore]]:
    other = await StateStore.open(database_url, run_migrations=False)
    try:
        yield store, other
    finally:
        await other.close()


async def _race(
    replicas: tuple[StateStore, StateStore],
    write: Callable[[Repositories, str], Awaitable[T]],
) -> list[T | BaseException]:
    """Run ``write`` once per replica, each in its own transaction, as close together as possible.

    On PostgreSQL both transactions are open before either writes. SQLite's
    BEGIN IMMEDIATE serialises them at the start instead, so there the second
    replica's transaction begins as soon as the first commits.
    """
    both_started = asyncio.Barrier(2) if _is_postgres(replicas[0]) else None

    async def attempt(store: StateStore, name: str) -> T:
        async with store.transaction() as tx:
            if both_started is not None:
                await tx.connection.exec_driver_sql("SELECT 1")
                await asyncio.wait_for(both_started.wait(), timeout=10)
            return await write(tx, name)

    return list(
        await asyncio.gather(
            attempt(replicas[0], "replica-a"),
            attempt(replicas[1], "replica-b"),
            return_exceptions=True,
        )
    )


def _is_postgres(store: StateStore) -> bool:
    return store.engine.dialect.name == "postgresql"


async def test_of_two_replicas_claiming_one_key_exactly_one_wins(
    two_replicas: tuple[StateStore, StateStore],
) -> None:
    async def claim(tx: Repositories, _replica: str) -> bool:
        return await tx.ledger.claim("sink", "message-42")

    outcomes = await _race(two_replicas, claim)
    assert sorted(outcomes, key=str) == [False, True]


async def test_of_two_replicas_taking_a_free_lease_exactly_one_wins(
    two_replicas: tuple[StateStore, StateStore],
) -> None:
    async def acquire(tx: Repositories, replica: str) -> bool:
        return await tx.leases.try_acquire("tick:poll", replica, ttl=timedelta(seconds=30), now=T0)

    outcomes = await _race(two_replicas, acquire)
    assert sorted(outcomes, key=str) == [False, True]
    async with two_replicas[0].transaction() as tx:
        lease = await tx.leases.get("tick:poll")
    assert lease is not None
    winner = "replica-a" if outcomes[0] is True else "replica-b"
    assert lease.holder == winner


async def test_of_two_replicas_taking_over_an_expired_lease_exactly_one_wins(
    two_replicas: tuple[StateStore, StateStore],
) -> None:
    async with two_replicas[0].transaction() as tx:
        await tx.leases.try_acquire("tick:poll", "replica-dead", ttl=timedelta(seconds=30), now=T0)
    later = T0 + timedelta(minutes=5)

    async def acquire(tx: Repositories, replica: str) -> bool:
        return await tx.leases.try_acquire(
            "tick:poll", replica, ttl=timedelta(seconds=30), now=later
        )

    outcomes = await _race(two_replicas, acquire)
    assert sorted(outcomes, key=str) == [False, True]


async def test_of_two_replicas_updating_one_cross_reference_the_stale_one_is_refused(
    two_replicas: tuple[StateStore, StateStore],
) -> None:
    async with two_replicas[0].transaction() as tx:
        source = await tx.connections.create(vendor="a", tenant_id="t", display_name="A")
        target = await tx.connections.create(vendor="b", tenant_id="t", display_name="B")
        link = await tx.links.create(
            source_connection_id=source.id, target_connection_id=target.id, flow="people"
        )
        await tx.cross_references.put(
            link.id, "emp-1", "staff", target_id="77", expected_revision=None
        )

    async def update(tx: Repositories, replica: str) -> int:
        written = await tx.cross_references.put(
            link.id, "emp-1", "staff", target_id="77", expected_revision=1, fingerprint=replica
        )
        return written.revision

    outcomes = await _race(two_replicas, update)
    assert 2 in outcomes
    refused = [o for o in outcomes if isinstance(o, StaleRevisionError)]
    assert len(refused) == 1, outcomes


async def test_of_two_replicas_creating_one_cross_reference_exactly_one_creates_it(
    two_replicas: tuple[StateStore, StateStore],
) -> None:
    async with two_replicas[0].transaction() as tx:
        source = await tx.connections.create(vendor="a", tenant_id="t", display_name="A")
        target = await tx.connections.create(vendor="b", tenant_id="t", display_name="B")
        link = await tx.links.create(
            source_connection_id=source.id, target_connection_id=target.id, flow="people"
        )

    async def create(tx: Repositories, replica: str) -> str:
        written = await tx.cross_references.put(
            link.id, "emp-1", "staff", target_id=f"id-from-{replica}", expected_revision=None
        )
        return written.target_id

    outcomes = await _race(two_replicas, create)
    created = [o for o in outcomes if isinstance(o, str)]
    assert len(created) == 1, outcomes
    assert isinstance(next(o for o in outcomes if not isinstance(o, str)), StaleRevisionError)
    async with two_replicas[1].transaction() as tx:
        stored = await tx.cross_references.get(link.id, "emp-1", "staff")
    assert stored is not None
    assert stored.target_id == created[0]


_CLAIMING_REPLICA = """
import asyncio, sys
from services.runtime.store import StateStore

async def main(url: str, keys: int) -> None:
    store = await StateStore.open(url, run_migrations=False)
    won = 0
    try:
        for n in range(keys):
            async with store.transaction() as tx:
                won += await tx.ledger.claim("sink", f"message-{n}")
    finally:
        await store.close()
    print(won)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.mark.process  # starts Python processes: not in make test-fast
async def test_two_replica_processes_claiming_the_same_keys_win_each_key_once(
    store: StateStore, database_url: str
) -> None:
    keys = 40
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CLAIMING_REPLICA,
            database_url,
            str(keys),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = await asyncio.wait_for(
        asyncio.gather(*(process.communicate() for process in processes)), timeout=120
    )
    assert [process.returncode for process in processes] == [0, 0], [e for _, e in results]
    wins = [int(out) for out, _ in results]
    assert sum(wins) == keys
