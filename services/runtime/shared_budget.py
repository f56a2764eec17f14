"""A connection's request window counted across every replica, in the state store.

The in-process budget (:mod:`services.runtime.ratelimit`) keeps one process under a
vendor's "N requests per T seconds". Two replicas of a sink each keep their own, so the
vendor sees up to twice its limit and answers 429s: the chaos suite's two Zoho replicas
drew 283 of them in one run. A vendor counts per account, not per process, so the count
must be shared too.

Each request takes a place in the window before it is sent: a lease in the state store
(``<window>#<holder>``, :meth:`Leases.take_window_place`), taken only while fewer than
``requests`` places are held. When the answer arrives the place is re-stamped to expire
``per_seconds`` later, the same "counted from its answer" rule as the in-process log; a
process that dies mid-request frees its place after ``ttl``. Bulk work (the
:data:`~services.runtime.ratelimit.BULK_EXTENSION` mark) counts against the window's bulk
share as well, so the reserve kept for live work holds across replicas too.

:class:`SharedWindowTransport` sits under the in-process budget, which still spaces a
process's own requests without touching the store: a request reaches the store only when
its own process already had room. That costs two small store writes per vendor call;
``MLC_SHARED_BUDGETS=false`` turns it off where one replica per vendor runs.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final
from uuid import uuid4

import httpx
from sqlalchemy.exc import SQLAlchemyError

from services.runtime.logging import get_logger
from services.runtime.ratelimit import BULK_EXTENSION, RatePolicy
from services.runtime.store import StateStore
from services.runtime.store.errors import StoreError
from services.runtime.store.leases import BULK_HOLDER_PREFIX

__all__ = ["WINDOW_PREFIX", "SharedWindow", "SharedWindowTransport"]

WINDOW_PREFIX: Final = "budget:"
"""Every connection's window is a lease named so (and its places ``<name>#<holder>``)."""

# Longest a request may be in flight before its place is given up for dead; well past any
# client timeout (services.runtime.http.DEFAULT_TIMEOUT reads for 30 s).
_IN_FLIGHT_TTL: Final = timedelta(minutes=5)

# How long a taker waits before asking again when the window is full: never longer than
# this (a place may be given back early), never shorter than the floor (the store's load).
_LONGEST_LOOK: Final = 1.0
_SHORTEST_LOOK: Final = 0.02

_log = get_logger(__name__)


class SharedWindow:
    """``policy.requests`` per ``policy.per_seconds`` for the window ``name``, every process."""

    def __init__(self, store: StateStore, name: str, policy: RatePolicy) -> None:
        if policy.requests is None:
            msg = f"window {name}: a shared window needs a request count"
            raise ValueError(msg)
        self._store = store
        self.name = name
        self._requests = policy.requests
        self._bulk_requests = policy.bulk_requests or policy.requests
        self._length = timedelta(seconds=policy.per_seconds)
        self.waits = 0
        """Times a request found the window full (tests and the logs count them)."""

    async def take(self, *, bulk: bool = False) -> str:
        """Wait for a place in the window; the holder to give :meth:`answered`."""
        holder = (BULK_HOLDER_PREFIX if bulk else "") + uuid4().hex
        while True:
            async with self._store.transaction() as repos:
                wait = await repos.leases.take_window_place(
                    self.name,
                    holder,
                    requests=self._requests,
                    bulk_requests=self._bulk_requests,
                    ttl=self._length + _IN_FLIGHT_TTL,
                )
            if wait is None:
                return holder
            self.waits += 1
            # Waiting for time to pass is the limit itself; no event announces another
            # process's answer.
            await asyncio.sleep(min(max(wait, _SHORTEST_LOOK), _LONGEST_LOOK))

    async def answered(self, holder: str) -> None:
        """The request of ``holder`` has its answer (or failed): it counts from now."""
        try:
            async with self._store.transaction() as repos:
                await repos.leases.stamp_window_place(self.name, holder, length=self._length)
        except (StoreError, SQLAlchemyError, OSError) as exc:
            # The answer is in hand and must not be lost for bookkeeping; the place still
            # expires at its in-flight deadline, which only over-counts.
            _log.warning("budget.stamp_failed", window=self.name, error=str(exc))


class SharedWindowTransport(httpx.AsyncBaseTransport):
    """Sends each request through ``inner`` once ``window`` has a place for it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, window: SharedWindow) -> None:
        self._inner = inner
        self._window = window

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        holder = await self._window.take(bulk=request.extensions.get(BULK_EXTENSION) is True)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            await self._window.answered(holder)

    async def aclose(self) -> None:
        await self._inner.aclose()
