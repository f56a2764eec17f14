"""A reading transaction: no lock, never waits for a writer, may not write (each backend)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.exc import DBAPIError

from services.runtime.store import StateStore


@pytest.fixture
async def other_replica(store: StateStore, database_url: str) -> AsyncIterator[StateStore]:
    other = await StateStore.open(database_url, run_migrations=False)
    try:
        yield other
    finally:
        await other.close()


async def test_a_reader_sees_the_last_commit(store: StateStore) -> None:
    async with store.transaction() as repos:
        await repos.audit_log.append(actor="t", action="seen", subject="s1", detail={})
    async with store.reading() as repos:
        entries = await repos.audit_log.list(subject="s1")
    assert [entry.action for entry in entries] == ["seen"]


async def test_a_write_inside_a_reading_transaction_is_refused_and_leaves_nothing(
    store: StateStore,
) -> None:
    with pytest.raises(DBAPIError, match=r"(?i)read-?only"):
        async with store.reading() as repos:
            await repos.audit_log.append(actor="t", action="sneaked", subject="s2", detail={})
    async with store.reading() as repos:
        assert await repos.audit_log.list(subject="s2") == []


async def test_the_connection_writes_again_after_a_reading_transaction(store: StateStore) -> None:
    # The pool hands the reader's connection out again: it must not stay read-only.
    for round_number in range(3):
        async with store.reading() as repos:
            await repos.audit_log.list(subject="s3")
        async with store.transaction() as repos:
            await repos.audit_log.append(
                actor="t", action=f"write {round_number}", subject="s3", detail={}
            )
    async with store.reading() as repos:
        assert len(await repos.audit_log.list(subject="s3")) == 3


async def test_a_reader_does_not_wait_for_another_replicas_open_write(
    store: StateStore, other_replica: StateStore
) -> None:
    writing = asyncio.Event()
    release = asyncio.Event()

    async def hold_a_write() -> None:
        async with other_replica.transaction() as repos:
            await repos.audit_log.append(actor="t", action="held", subject="s4", detail={})
            writing.set()
            await release.wait()

    holder = asyncio.create_task(hold_a_write())
    try:
        await asyncio.wait_for(writing.wait(), timeout=10)
        # The write lock is held; the reader must answer (with the last commit) meanwhile.
        async with asyncio.timeout(5), store.reading() as repos:
            assert await repos.audit_log.list(subject="s4") == []
    finally:
        release.set()
        await holder
    async with store.reading() as repos:
        assert len(await repos.audit_log.list(subject="s4")) == 1
