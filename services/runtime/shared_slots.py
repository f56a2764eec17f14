"""At most N requests in flight to one vendor account, counted across every process.

Some vendors cap concurrent requests per account, not per client: BILL refuses a fourth
simultaneous request per developer key and organisation (``BDC_1322``). A per-process limit
cannot keep that across replicas, so each request first takes one of ``count`` slots,
each a state-store lease (``<name>#<i>``), and gives it back when the answer is in. A
process that dies holding one frees it when its lease expires (``ttl``, longer than any
request may take).

:class:`SlotTransport` does it for every request of an httpx client. A request that finds
no free slot within ``wait`` raises ``httpx.PoolTimeout``: it was never sent, so the
runtime's retry sends it later.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from uuid import uuid4

import httpx

from services.runtime.store import StateStore

__all__ = ["SharedSlots", "SlotTransport", "SlotsBusyError"]


class SlotsBusyError(TimeoutError):
    """Every slot stayed taken for longer than we wait."""


class SharedSlots:
    """``count`` slots named ``name`` in ``store``, shared by every process that uses them."""

    def __init__(
        self,
        store: StateStore,
        name: str,
        *,
        count: int,
        ttl: timedelta = timedelta(seconds=120),
        wait: timedelta = timedelta(seconds=60),
    ) -> None:
        if count < 1:
            msg = f"slots {name}: count must be at least 1, not {count}"
            raise ValueError(msg)
        self._store = store
        self.name = name
        self.count = count
        self._ttl = ttl
        self._wait = wait
        self.waits = 0
        """Times a request found every slot taken (a benchmark and the logs count them)."""

    @asynccontextmanager
    async def held(self) -> AsyncIterator[str]:
        """Hold one slot for the block; :class:`SlotsBusyError` when none frees in time."""
        holder = uuid4().hex  # per request: a process's own requests must count apart
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait.total_seconds()
        delay = 0.01
        while True:
            slot = await self._try_take(holder)
            if slot is not None:
                break
            self.waits += 1
            if loop.time() >= deadline:
                msg = f"all {self.count} slots of {self.name} stayed taken; try later"
                raise SlotsBusyError(msg)
            await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter only
            delay = min(delay * 2, 0.2)
        try:
            yield slot
        finally:
            async with self._store.transaction() as repos:
                await repos.leases.release(slot, holder)

    async def _try_take(self, holder: str) -> str | None:
        start = random.randrange(self.count)  # noqa: S311 - spreads the first tries
        names = [f"{self.name}#{(start + i) % self.count}" for i in range(self.count)]
        for name in names:
            # One slot per transaction: PostgreSQL locks a row an upsert merely looks at, so
            # two transactions trying several slots in different orders would deadlock.
            async with self._store.transaction() as repos:
                if await repos.leases.try_acquire(name, holder, ttl=self._ttl):
                    return name
        return None


class SlotTransport(httpx.AsyncBaseTransport):
    """Sends each request through ``inner`` while holding one of ``slots``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, slots: SharedSlots) -> None:
        self._inner = inner
        self._slots = slots

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with self._slots.held():
                response = await self._inner.handle_async_request(request)
                # Read while the slot is held: the vendor counts the request until it answered.
                await response.aread()
                return response
        except SlotsBusyError as busy:
            raise httpx.PoolTimeout(str(busy), request=request) from busy

    async def aclose(self) -> None:
        await self._inner.aclose()
