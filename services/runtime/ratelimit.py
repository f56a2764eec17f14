"""Staying under a vendor's limits before the vendor has to say so.

A connection's budget is "at most ``requests`` per ``per_seconds``, at most
``max_in_flight`` at once", shared by every client built for the same connection key in
this process (the bus routes all of a connection's traffic to one consumer, so a local
budget is the whole budget).

The window is a sliding log with one twist: a request's place in the log is the moment
its answer arrived, not the moment it was sent. The server counted it somewhere in
between, and only the later bound is safe: a request is admitted only when fewer than
``requests`` others are in flight or were answered less than ``per_seconds`` ago, so no
window of ``per_seconds`` at the server, wherever it starts, ever holds more than
``requests``. (The ``limits`` package was considered; it stamps an entry when it is taken
and cannot re-stamp it when the answer arrives, so network latency could push a burst
over the vendor's count.)

Concurrency is held from before sending until the response body is closed, which is
what a server that counts open requests sees. A response opened with ``stream=True``
holds its slot until it is closed.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

__all__ = [
    "PROCESS_BUDGETS",
    "BudgetRegistry",
    "ConflictingRatePolicyError",
    "ConnectionBudget",
    "RateLimitTransport",
    "RatePolicy",
    "SlidingWindowLog",
]

Clock = Callable[[], float]


@dataclass(frozen=True, kw_only=True)
class RatePolicy:
    """A connection's budget: ``requests`` per ``per_seconds`` and ``max_in_flight`` at once.

    ``None`` switches that half off. Use the vendor's published numbers (from its
    settings), or a little under them when the vendor counts more than we send.
    """

    requests: int | None = None
    per_seconds: float = 1.0
    max_in_flight: int | None = None

    def __post_init__(self) -> None:
        if self.requests is not None and self.requests < 1:
            raise ValueError("RatePolicy.requests must be at least 1 (or None for no window)")
        if self.per_seconds <= 0:
            raise ValueError("RatePolicy.per_seconds must be positive")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError("RatePolicy.max_in_flight must be at least 1 (or None for no cap)")


class ConflictingRatePolicyError(RuntimeError):
    """Two clients of one connection were built with different budgets."""


class SlidingWindowLog:
    """The window's arithmetic, without waiting: times are seconds on one monotonic clock."""

    def __init__(self, *, requests: int, per_seconds: float) -> None:
        self.requests = requests
        self.per_seconds = per_seconds
        self.in_flight = 0
        self._answered: deque[float] = deque()

    def try_admit(self, now: float) -> float | None:
        """Admit a request (None) or say how long until one might fit (``inf``: after an answer)."""
        while self._answered and self._answered[0] + self.per_seconds <= now:
            self._answered.popleft()
        if self.in_flight + len(self._answered) < self.requests:
            self.in_flight += 1
            return None
        if self._answered:
            return self._answered[0] + self.per_seconds - now
        return math.inf

    def answered(self, now: float) -> None:
        """An admitted request got its answer (or failed) at ``now``."""
        self.in_flight -= 1
        self._answered.append(now)


class ConnectionBudget:
    """One connection's window and concurrency cap, for the event loop it was made in."""

    def __init__(self, policy: RatePolicy, *, clock: Clock = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._window = (
            SlidingWindowLog(requests=policy.requests, per_seconds=policy.per_seconds)
            if policy.requests is not None
            else None
        )
        self._slots = (
            asyncio.Semaphore(policy.max_in_flight) if policy.max_in_flight is not None else None
        )
        self._answer_arrived = asyncio.Event()

    async def acquire(self) -> None:
        """Wait for a concurrency slot, then for room in the window."""
        if self._slots is not None:
            await self._slots.acquire()
        try:
            await self._admit()
        except BaseException:
            self.release()
            raise

    def answered(self) -> None:
        """The request admitted by :meth:`acquire` has its answer (or its error)."""
        if self._window is None:
            return
        self._window.answered(self._clock())
        # Waking every waiter is fine: each re-checks the log and goes back to waiting.
        self._answer_arrived.set()
        self._answer_arrived = asyncio.Event()

    def release(self) -> None:
        """Give back the concurrency slot taken by :meth:`acquire`."""
        if self._slots is not None:
            self._slots.release()

    async def _admit(self) -> None:
        if self._window is None:
            return
        while (wait := self._window.try_admit(self._clock())) is not None:
            answer_arrived = self._answer_arrived
            if math.isinf(wait):
                await answer_arrived.wait()
                continue
            try:
                async with asyncio.timeout(wait):
                    await answer_arrived.wait()
            except TimeoutError:
                pass


class BudgetRegistry:
    """Budgets by connection key, so every client of one connection draws on one budget.

    asyncio primitives belong to one event loop, so budgets are kept per loop; within a
    loop (a running service) one key has exactly one budget.
    """

    def __init__(self) -> None:
        self._policies: dict[str, RatePolicy] = {}
        self._budgets: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, ConnectionBudget]
        ] = weakref.WeakKeyDictionary()

    def register(self, connection_key: str, policy: RatePolicy) -> None:
        """Declare ``connection_key``'s budget; a different one for the same key is refused."""
        known = self._policies.setdefault(connection_key, policy)
        if known != policy:
            msg = (
                f"connection {connection_key!r} already has rate policy {known}; "
                f"a client asked for {policy}. Build every client of one connection "
                "from the same settings."
            )
            raise ConflictingRatePolicyError(msg)

    def budget(self, connection_key: str) -> ConnectionBudget:
        """The budget of ``connection_key`` in the running event loop."""
        policy = self._policies[connection_key]
        per_loop = self._budgets.setdefault(asyncio.get_running_loop(), {})
        budget = per_loop.get(connection_key)
        if budget is None:
            budget = per_loop[connection_key] = ConnectionBudget(policy)
        return budget


PROCESS_BUDGETS = BudgetRegistry()
"""The registry clients use unless given another (tests pass their own)."""


class _SlotReleasingStream(httpx.AsyncByteStream):
    """A response body that gives the concurrency slot back when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._release is not None:
                release, self._release = self._release, None
                release()


class RateLimitTransport(httpx.AsyncBaseTransport):
    """Sends through ``inner`` within the budget of ``connection_key``."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        connection_key: str,
        policy: RatePolicy,
        registry: BudgetRegistry = PROCESS_BUDGETS,
    ) -> None:
        registry.register(connection_key, policy)
        self._inner = inner
        self._connection_key = connection_key
        self._registry = registry

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        budget = self._registry.budget(self._connection_key)
        await budget.acquire()
        try:
            try:
                response = await self._inner.handle_async_request(request)
            finally:
                budget.answered()
        except BaseException:
            budget.release()
            raise
        if not isinstance(response.stream, httpx.AsyncByteStream):
            budget.release()
            return response
        response.stream = _SlotReleasingStream(response.stream, budget.release)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
