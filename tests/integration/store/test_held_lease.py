"""``held_lease`` across tasks of one process: the store's lease is re-entrant for its
holder, so two tasks that share a holder must still take turns (the in-process lock)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.runtime.leasing import HeldLease, LeaseBusyError, held_lease
from services.runtime.store import StateStore

TTL = timedelta(seconds=30)
SHORT = timedelta(milliseconds=50)


async def test_two_tasks_with_one_holder_take_turns(store: StateStore) -> None:
    async with held_lease(store, "record:1", "replica-a", ttl=TTL, wait=TTL):
        with pytest.raises(LeaseBusyError, match="another task of this process"):
            async with held_lease(store, "record:1", "replica-a", ttl=TTL, wait=SHORT):
                pytest.fail("a second task of the same holder entered the lease")
        async with store.transaction() as repos:
            row = await repos.leases.get("record:1")
        assert row is not None
        assert row.holder == "replica-a"  # the refused attempt released nothing

    async with held_lease(store, "record:1", "replica-a", ttl=TTL, wait=SHORT):
        pass  # free again once the first task left
    async with store.transaction() as repos:
        assert await repos.leases.get("record:1") is None


async def test_the_second_task_enters_when_the_first_leaves(store: StateStore) -> None:
    order: list[str] = []
    first_inside = asyncio.Event()
    let_go = asyncio.Event()

    async def first() -> None:
        async with held_lease(store, "record:2", "replica-a", ttl=TTL, wait=TTL):
            order.append("first in")
            first_inside.set()
            await let_go.wait()
            order.append("first out")

    async def second() -> None:
        await first_inside.wait()
        async with held_lease(store, "record:2", "replica-a", ttl=TTL, wait=TTL):
            order.append("second in")

    running = asyncio.gather(first(), second())
    await first_inside.wait()
    let_go.set()
    await running
    assert order == ["first in", "first out", "second in"]


async def test_other_names_and_other_holders_are_not_held_up(store: StateStore) -> None:
    async with held_lease(store, "record:3", "replica-a", ttl=TTL, wait=TTL):
        async with held_lease(store, "record:4", "replica-a", ttl=TTL, wait=SHORT):
            pass
        with pytest.raises(LeaseBusyError, match="another replica"):
            async with held_lease(store, "record:3", "replica-b", ttl=TTL, wait=SHORT):
                pytest.fail("another holder entered a held lease")


async def test_the_last_transaction_writes_and_gives_the_lease_back_at_once(
    store: StateStore,
) -> None:
    async with held_lease(store, "record:5", "replica-a", ttl=TTL, wait=TTL) as held:
        async with held.last_transaction() as repos:
            await repos.leases.try_acquire("written:5", "replica-a", ttl=TTL)
        assert held.given_back
        # Given back with the write: another replica need not wait for our block to end.
        async with held_lease(store, "record:5", "replica-b", ttl=TTL, wait=SHORT):
            pass
    async with store.transaction() as repos:
        assert await repos.leases.get("written:5") is not None
        assert await repos.leases.get("record:5") is None


async def test_a_last_transaction_that_fails_keeps_the_lease_until_the_block_ends(
    store: StateStore,
) -> None:
    async def failing_bookkeeping(held: HeldLease) -> None:
        async with held.last_transaction() as repos:
            await repos.leases.try_acquire("written:6", "replica-a", ttl=TTL)
            raise RuntimeError("bookkeeping failed")

    async with held_lease(store, "record:6", "replica-a", ttl=TTL, wait=TTL) as held:
        with pytest.raises(RuntimeError, match="bookkeeping failed"):
            await failing_bookkeeping(held)
        assert not held.given_back
        async with store.transaction() as repos:
            assert await repos.leases.get("written:6") is None  # rolled back
            lease = await repos.leases.get("record:6")
        assert lease is not None
        assert lease.holder == "replica-a"
    async with store.transaction() as repos:
        assert await repos.leases.get("record:6") is None  # released when the block ended
