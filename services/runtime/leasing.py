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

A holder whose work ends with a write can give the lease back in that write's transaction
(:meth:`HeldLease.last_transaction`): one transaction instead of two, on a path that runs
for every record a sink writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from services.runtime.keyed_locks import KeyedLocks
from services.runtime.store import Repositories, StateStore

__all__ = ["HeldLease", "LeaseBusyError", "held_lease"]


class LeaseBusyError(TimeoutError):
    """Another replica held the lease for longer than we wait: retry the work later."""


# Held only while a task uses one, so a lease per record leaves nothing behind.
_in_process: KeyedLocks[tuple[str, str]] = KeyedLocks()


@dataclass(slots=True)
class HeldLease:
    """A lease held for the block of :func:`held_lease`."""

    store: StateStore
    name: str
    holder: str
    given_back: bool = field(default=False, init=False)
    """True once a :meth:`last_transaction` committed: nothing is left to release."""

    @asynccontextmanager
    async def last_transaction(self) -> AsyncIterator[Repositories]:
        """A store transaction that also gives the lease back, when the block ends without
        an error: the holder's last write under the lease. Nothing may be written under
        the lease after it. If the block or the commit fails, the lease is still held and
        is released as usual when the lease's block ends."""
        async with self.store.transaction() as repos:
            yield repos
            await repos.leases.release(self.name, self.holder)
        self.given_back = True


@asynccontextmanager
async def held_lease(
    store: StateStore,
    name: str,
    holder: str,
    *,
    ttl: timedelta,
    wait: timedelta,
) -> AsyncIterator[HeldLease]:
    """Hold lease ``name`` for the block; wait (bounded) while another holder has it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait.total_seconds()
    lock = _in_process.of((name, holder))
    try:
        await asyncio.wait_for(lock.acquire(), timeout=wait.total_seconds())
    except TimeoutError:
        msg = f"lease {name} is held by another task of this process; retry later"
        raise LeaseBusyError(msg) from None
    try:
        async with _store_lease(store, name, holder, ttl=ttl, deadline=deadline) as held:
            yield held
    finally:
        lock.release()


@asynccontextmanager
async def _store_lease(
    store: StateStore, name: str, holder: str, *, ttl: timedelta, deadline: float
) -> AsyncIterator[HeldLease]:
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
    held = HeldLease(store, name, holder)
    try:
        yield held
    finally:
        if not held.given_back:
            async with store.transaction() as repos:
                await repos.leases.release(name, holder)
