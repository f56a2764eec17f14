"""The writers of one process queue for SQLite's write lock in the process, not in SQLite.

SQLite's busy handler sleeps a waiting writer in steps of up to 100 ms and hands the lock
out in no order; ``services.runtime.store.write_turn`` says why the process queues first.
These tests run on a real SQLite file, and check the turn is PostgreSQL's concern not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from services.runtime.outages import is_outage
from services.runtime.store import StateStore, StoreError
from services.runtime.store.write_turn import WriteTurn

DEADLINE_SECONDS = 10.0


# The conftest's migrated ``store``, on its SQLite backend only: the turn is SQLite's.
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds; fail after the deadline."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        # A yield per round: the condition is how far the tasks just started got, which
        # no event reports (the turn's queue is asyncio's own lock).
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0)  # poll: a yield to the tasks, under the deadline above


@ON_SQLITE
async def test_writers_take_the_lock_in_the_order_they_asked_and_hold_no_connection_meanwhile(
    store: StateStore,
) -> None:
    turn = store.write_turn
    assert turn is not None
    holding = asyncio.Event()
    release = asyncio.Event()
    committed: list[str] = []

    async def first() -> None:
        async with store.transaction() as repos:
            await repos.audit_log.append(actor="t", action="first", subject="turn", detail={})
            holding.set()
            await release.wait()
        committed.append("first")

    async def writer(name: str) -> None:
        async with store.transaction() as repos:
            await repos.audit_log.append(actor="t", action=name, subject="turn", detail={})
        committed.append(name)

    holder = asyncio.create_task(first())
    await holding.wait()
    waiters: list[asyncio.Task[None]] = []
    for name in ("b", "c", "d"):
        waiters.append(asyncio.create_task(writer(name)))
        await _until(lambda: turn.waiting == len(waiters))

    # Only the holder has a connection: the three waiting are not sleeping inside SQLite.
    pool = store.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 1
    release.set()
    await asyncio.gather(holder, *waiters)

    assert committed == ["first", "b", "c", "d"]
    assert turn.waiting == 0
    async with store.reading() as repos:
        entries = await repos.audit_log.list(subject="turn")
    assert sorted(entry.action for entry in entries) == ["b", "c", "d", "first"]


@ON_SQLITE
async def test_a_write_inside_a_write_of_the_same_task_fails_at_once_and_the_outer_one_commits(
    store: StateStore,
) -> None:
    async with store.transaction() as outer:
        with pytest.raises(StoreError, match="inside another one of the same task"):
            async with store.transaction():
                pass
        await outer.audit_log.append(actor="t", action="outer", subject="nested", detail={})

    async with store.reading() as repos:
        entries = await repos.audit_log.list(subject="nested")
    assert [entry.action for entry in entries] == ["outer"]


async def test_a_writer_still_waiting_after_the_timeout_fails_as_a_store_outage() -> None:
    turn = WriteTurn(timeout_seconds=0.05)
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with turn.taken():
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    with pytest.raises(OperationalError, match="database is locked") as refused:
        async with turn.taken():
            pass
    assert is_outage(refused.value)
    assert turn.waiting == 0

    release.set()
    await holder
    async with turn.taken():  # the writer that gave up left nothing behind
        assert turn.waiting == 0


async def test_a_writer_cancelled_while_waiting_leaves_the_turn_to_the_next() -> None:
    turn = WriteTurn(timeout_seconds=DEADLINE_SECONDS)
    holding = asyncio.Event()
    release = asyncio.Event()
    served: list[str] = []

    async def hold() -> None:
        async with turn.taken():
            holding.set()
            await release.wait()

    async def wait_for_turn(name: str) -> None:
        async with turn.taken():
            served.append(name)

    holder = asyncio.create_task(hold())
    await holding.wait()
    cancelled = asyncio.create_task(wait_for_turn("cancelled"))
    await _until(lambda: turn.waiting == 1)
    after = asyncio.create_task(wait_for_turn("after"))
    await _until(lambda: turn.waiting == 2)
    cancelled.cancel()
    release.set()
    await asyncio.gather(holder, after)

    assert cancelled.cancelled()
    assert served == ["after"]
    assert turn.waiting == 0


async def test_only_a_sqlite_store_queues_its_writers(store: StateStore) -> None:
    expected = store.engine.dialect.name == "sqlite"
    assert (store.write_turn is not None) is expected
