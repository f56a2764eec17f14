"""One holder at a time across replicas: a state-store lease held around a block.

Two replicas can hold work about the same record (a rebalance hands a partition over
while the old owner is still finishing, or a webhook and a poll race), or both want to
refresh one connection's OAuth token. The lease makes their read-then-write sequences
take turns, so the second one finds what the first wrote instead of writing it again.

The store's lease is re-entrant for its holder (taking it again extends it), and a
process names itself once as the holder of every lease it takes. So two tasks of one
process that want the same lease (a record's two consumers, say) also take turns: an
in-process lock per (lease, holder) comes first. Without it both would hold the lease at
once, and the first to finish would release it under the other.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from services.runtime.store import StateStore

__all__ = ["LeaseBusyError", "held_lease"]


class LeaseBusyError(TimeoutError):
    """Another replica held the lease for longer than we wait: retry the work later."""


# Held only while a task uses one, so a lease per record leaves nothing behind.
_in_process: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


def _lock_of(name: str, holder: str) -> asyncio.Lock:
    lock = _in_process.get((name, holder))
    if lock is None:
        lock = asyncio.Lock()
        _in_process[(name, holder)] = lock
    return lock


@asynccontextmanager
async def held_lease(
    store: StateStore,
    name: str,
    holder: str,
    *,
    ttl: timedelta,
    wait: timedelta,
) -> AsyncIterator[None]:
    """Hold lease ``name`` for the block; wait (bounded) while another holder has it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait.total_seconds()
    lock = _lock_of(name, holder)
    try:
        await asyncio.wait_for(lock.acquire(), timeout=wait.total_seconds())
    except TimeoutError:
        msg = f"lease {name} is held by another task of this process; retry later"
        raise LeaseBusyError(msg) from None
    try:
        async with _store_lease(store, name, holder, ttl=ttl, deadline=deadline):
            yield
    finally:
        lock.release()


@asynccontextmanager
async def _store_lease(
    store: StateStore, name: str, holder: str, *, ttl: timedelta, deadline: float
) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    delay = 0.02
    while True:
        async with store.transaction() as repos:
            if await repos.leases.try_acquire(name, holder, ttl=ttl):
                break
        if loop.time() >= deadline:
            msg = f"lease {name} is held by another replica; retry later"
            raise LeaseBusyError(msg)
        await asyncio.sleep(delay)  # polling a row another process holds; no event to await
        delay = min(delay * 2, 0.5)
    try:
        yield
    finally:
        async with store.transaction() as repos:
            await repos.leases.release(name, holder)
