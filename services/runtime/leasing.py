"""One holder at a time across replicas: a state-store lease held around a block.

Two replicas can hold work about the same record (a rebalance hands a partition over
while the old owner is still finishing, or a webhook and a poll race), or both want to
refresh one connection's OAuth token. The lease makes their read-then-write sequences
take turns, so the second one finds what the first wrote instead of writing it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from services.runtime.store import StateStore

__all__ = ["LeaseBusyError", "held_lease"]


class LeaseBusyError(TimeoutError):
    """Another replica held the lease for longer than we wait: retry the work later."""


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
