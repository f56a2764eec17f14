"""Staying under a vendor's limits before the vendor has to say so.

A connection's budget is "at most ``requests`` per ``per_seconds``, at most
``max_in_flight`` at once", shared by every client built for the same connection key in
this process. Replicas of one service each keep their own; the window is also counted
across them in the state store (:mod:`services.runtime.shared_budget`), and a
concurrency cap the vendor enforces per account across them too
(:mod:`services.runtime.shared_slots`, BILL's).

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

Bulk work (a backfill, a reconcile: anything that can wait) marks its requests with the
:data:`BULK_EXTENSION` request extension. A policy with a ``reserved_share`` keeps that
fraction of the window and of the in-flight slots out of bulk work's reach, so however
much bulk work queues, unmarked requests (a webhook's reads, a token refresh) always find
room: bulk is admitted only while bulk's own use is under its smaller limit (and the
whole budget has room), so whatever bulk holds, the reserve is left. An unmarked request
may use the whole budget, reserve included. Without a share, or without marks, nothing
changes.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Final

import httpx

from services.runtime.metrics import count_wait

__all__ = [
    "BULK_EXTENSION",
    "PROCESS_BUDGETS",
    "BudgetRegistry",
    "ConflictingRatePolicyError",
    "ConnectionBudget",
    "RateLimitTransport",
    "RatePolicy",
    "SlidingWindowLog",
]

Clock = Callable[[], float]

BULK_EXTENSION: Final = "mlc.bulk"
"""Request extension: ``True`` marks bulk work, kept out of the policy's ``reserved_share``."""

# Admission without waiting still takes a few scheduler turns; below this it is not a wait.
_NOT_A_WAIT: Final = 0.001

# Float products such as 0.7 * 10 land a hair above or below the integer they mean.
_ROUNDING_SLACK: Final = 1e-9


@dataclass(frozen=True, kw_only=True)
class RatePolicy:
    """A connection's budget: ``requests`` per ``per_seconds`` and ``max_in_flight`` at once.

    ``None`` switches that half off. Use the vendor's published numbers (from its
    settings), or a little under them when the vendor counts more than we send.

    ``reserved_share`` is the fraction of both halves that requests marked bulk
    (:data:`BULK_EXTENSION`) may not use. Bulk keeps at least one place of each half, or
    it could never run: a budget of one request or one slot has nothing to reserve.
    """

    requests: int | None = None
    per_seconds: float = 1.0
    max_in_flight: int | None = None
    reserved_share: float = 0.0

    @property
    def bulk_requests(self) -> int | None:
        """How many of the window's ``requests`` bulk work may hold."""
        return None if self.requests is None else self._bulk_part(self.requests)

    @property
    def bulk_in_flight(self) -> int | None:
        """How many of the ``max_in_flight`` slots bulk work may hold."""
        return None if self.max_in_flight is None else self._bulk_part(self.max_in_flight)

    def _bulk_part(self, whole: int) -> int:
        return max(1, math.floor(whole * (1.0 - self.reserved_share) + _ROUNDING_SLACK))

    def __post_init__(self) -> None:
        if self.requests is not None and self.requests < 1:
            raise ValueError("RatePolicy.requests must be at least 1 (or None for no window)")
        if self.per_seconds <= 0:
            raise ValueError("RatePolicy.per_seconds must be positive")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError("RatePolicy.max_in_flight must be at least 1 (or None for no cap)")
        if not 0.0 <= self.reserved_share < 1.0:
            raise ValueError("RatePolicy.reserved_share must be at least 0 and below 1")


class ConflictingRatePolicyError(RuntimeError):
    """Two clients of one connection were built with different budgets."""


class SlidingWindowLog:
    """The window's arithmetic, without waiting: times are seconds on one monotonic clock.

    Bulk requests are counted twice: in the whole log, and in a log of their own that may
    hold only ``bulk_requests`` (all of ``requests`` unless given).
    """

    def __init__(
        self, *, requests: int, per_seconds: float, bulk_requests: int | None = None
    ) -> None:
        self.requests = requests
        self.per_seconds = per_seconds
        self.bulk_requests = requests if bulk_requests is None else bulk_requests
        self.in_flight = 0
        self.bulk_in_flight = 0
        self._answered: deque[float] = deque()
        self._bulk_answered: deque[float] = deque()

    def try_admit(self, now: float, *, bulk: bool = False) -> float | None:
        """Admit a request (None) or say how long until one might fit (``inf``: after an answer)."""
        for answered in (self._answered, self._bulk_answered):
            while answered and answered[0] + self.per_seconds <= now:
                answered.popleft()
        waits = []
        if self.in_flight + len(self._answered) >= self.requests:
            waits.append(self._until_one_leaves(self._answered, now))
        if bulk and self.bulk_in_flight + len(self._bulk_answered) >= self.bulk_requests:
            waits.append(self._until_one_leaves(self._bulk_answered, now))
        if waits:
            # Both counts must have room: nothing fits before the later of the two.
            return max(waits)
        self.in_flight += 1
        if bulk:
            self.bulk_in_flight += 1
        return None

    def use(self, now: float) -> float:
        """Share of ``requests`` taken at ``now``: in flight plus answered within the window."""
        recent = sum(1 for at in list(self._answered) if at + self.per_seconds > now)
        return (self.in_flight + recent) / self.requests

    def _until_one_leaves(self, answered: deque[float], now: float) -> float:
        return answered[0] + self.per_seconds - now if answered else math.inf

    def answered(self, now: float, *, bulk: bool = False) -> None:
        """An admitted request (same ``bulk``) got its answer, or failed, at ``now``."""
        self.in_flight -= 1
        self._answered.append(now)
        if bulk:
            self.bulk_in_flight -= 1
            self._bulk_answered.append(now)


class ConnectionBudget:
    """One connection's window and concurrency cap, for the event loop it was made in."""

    def __init__(self, policy: RatePolicy, *, clock: Clock = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._window = (
            SlidingWindowLog(
                requests=policy.requests,
                per_seconds=policy.per_seconds,
                bulk_requests=policy.bulk_requests,
            )
            if policy.requests is not None
            else None
        )
        self._slots = (
            asyncio.Semaphore(policy.max_in_flight) if policy.max_in_flight is not None else None
        )
        # Taken before a slot, so bulk holds (or queues for) at most this many slots and the
        # rest stay free for unmarked requests. None when there is nothing to reserve.
        bulk_in_flight = policy.bulk_in_flight
        self._bulk_slots = (
            asyncio.Semaphore(bulk_in_flight)
            if bulk_in_flight is not None and bulk_in_flight != policy.max_in_flight
            else None
        )
        self._answer_arrived = asyncio.Event()

    async def acquire(self, *, bulk: bool = False) -> None:
        """Wait for a concurrency slot, then for room in the window.

        ``bulk`` work waits for its own share of both first; give the same ``bulk`` to
        :meth:`release`.
        """
        bulk_slots = self._bulk_slots if bulk else None
        if bulk_slots is not None:
            await bulk_slots.acquire()
        try:
            if self._slots is not None:
                await self._slots.acquire()
        except BaseException:
            if bulk_slots is not None:
                bulk_slots.release()
            raise
        try:
            await self._admit(bulk=bulk)
        except BaseException:
            self.release(bulk=bulk)
            raise

    def use(self) -> float:
        """Share of the budget in use now: the fuller of the window and the slots (0..1)."""
        shares = [0.0]
        if self._window is not None:
            shares.append(self._window.use(self._clock()))
        if self._slots is not None and self.policy.max_in_flight is not None:
            free = self._slots._value
            shares.append((self.policy.max_in_flight - free) / self.policy.max_in_flight)
        return max(shares)

    def answered(self, *, bulk: bool = False) -> None:
        """The request admitted by :meth:`acquire` (same ``bulk``) has its answer (or error)."""
        if self._window is None:
            return
        self._window.answered(self._clock(), bulk=bulk)
        # Waking every waiter is fine: each re-checks the log and goes back to waiting.
        self._answer_arrived.set()
        self._answer_arrived = asyncio.Event()

    def release(self, *, bulk: bool = False) -> None:
        """Give back the concurrency slot taken by :meth:`acquire` (with the same ``bulk``)."""
        if self._slots is not None:
            self._slots.release()
        if bulk and self._bulk_slots is not None:
            self._bulk_slots.release()

    async def _admit(self, *, bulk: bool) -> None:
        if self._window is None:
            return
        while (wait := self._window.try_admit(self._clock(), bulk=bulk)) is not None:
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
    loop (a running service) one key has exactly one budget. ``clock`` is for tests.
    """

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._policies: dict[str, RatePolicy] = {}
        self._vendors: dict[str, str] = {}
        self._budgets: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, ConnectionBudget]
        ] = weakref.WeakKeyDictionary()

    def register(self, connection_key: str, policy: RatePolicy, *, vendor: str = "") -> None:
        """Declare ``connection_key``'s budget (``vendor``'s, for the metrics); a different one
        for the same key is refused."""
        self._vendors.setdefault(connection_key, vendor)
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
            budget = per_loop[connection_key] = ConnectionBudget(policy, clock=self._clock)
        return budget

    def usage(self) -> dict[tuple[str, ...], float]:
        """(vendor, connection key) -> share of its budget in use, in the running loop."""
        per_loop = self._budgets.get(asyncio.get_running_loop(), {})
        return {(self._vendors.get(key, ""), key): budget.use() for key, budget in per_loop.items()}


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
    """Sends through ``inner`` within the budget of ``connection_key``.

    A request whose :data:`BULK_EXTENSION` is ``True`` is bulk work for the budget.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        connection_key: str,
        policy: RatePolicy,
        registry: BudgetRegistry = PROCESS_BUDGETS,
        vendor: str = "",
    ) -> None:
        registry.register(connection_key, policy, vendor=vendor)
        self._inner = inner
        self._connection_key = connection_key
        self._registry = registry

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        budget = self._registry.budget(self._connection_key)
        bulk = request.extensions.get(BULK_EXTENSION) is True
        release = partial(budget.release, bulk=bulk)
        asked = time.monotonic()
        await budget.acquire(bulk=bulk)
        count_wait(request.extensions, "budget", time.monotonic() - asked - _NOT_A_WAIT)
        try:
            try:
                response = await self._inner.handle_async_request(request)
            finally:
                budget.answered(bulk=bulk)
        except BaseException:
            release()
            raise
        # A response built already read (an in-process transport) is closed before we see it:
        # nobody will close it again, and nothing of it is still open at the server.
        if response.is_closed or not isinstance(response.stream, httpx.AsyncByteStream):
            release()
            return response
        response.stream = _SlotReleasingStream(response.stream, release)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
