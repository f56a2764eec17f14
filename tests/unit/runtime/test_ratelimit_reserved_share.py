"""A reserved share of a connection's budget: bulk work never takes the part kept for the rest.

Deterministic: the window is driven on simulated time, and the asynchronous tests run on a
clock that never moves, waiting on conditions with deadlines (never on the wall clock).
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import AsyncIterator, Callable
from typing import Literal

import httpx
import pytest

from services.runtime.ratelimit import (
    BULK_EXTENSION,
    BudgetRegistry,
    ConnectionBudget,
    RateLimitTransport,
    RatePolicy,
    SlidingWindowLog,
)

Work = Literal["bulk", "fresh"]
DEADLINE_SECONDS = 5.0


def _frozen_clock() -> float:
    return 0.0


@pytest.mark.parametrize(
    ("whole", "share", "bulk"),
    [(4, 0.25, 3), (2, 0.25, 1), (10, 0.3, 7), (10, 0.7, 3), (100, 0.25, 75), (5, 0.0, 5)],
)
def test_bulk_may_hold_the_whole_budget_less_the_reserved_share(
    whole: int, share: float, bulk: int
) -> None:
    policy = RatePolicy(requests=whole, max_in_flight=whole, reserved_share=share)
    assert (policy.bulk_requests, policy.bulk_in_flight) == (bulk, bulk)


def test_a_budget_of_one_has_nothing_to_reserve_and_bulk_keeps_its_one_place() -> None:
    policy = RatePolicy(requests=1, max_in_flight=1, reserved_share=0.25)
    assert (policy.bulk_requests, policy.bulk_in_flight) == (1, 1)


@pytest.mark.parametrize("share", [-0.1, 1.0, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="reserved_share"):
        RatePolicy(requests=4, reserved_share=share)


def _simulate(share: float) -> tuple[list[float], dict[Work, list[tuple[float, float]]]]:
    """Bulk work always waiting (saturating), a fresh request every 600 ms; simulated time.

    Times are whole milliseconds (exact in floating point). Budget: 8 per 1000 ms. Every
    request takes 100 ms, so a fresh one counts for 1100 ms and at most two fresh ones
    are ever counted at once: within a reserve of two. At each moment bulk work goes
    first, the worst order for fresh requests. Returns each fresh request's wait and every
    request's (send, answer) by kind.
    """
    policy = RatePolicy(requests=8, per_seconds=1000.0, reserved_share=share)
    assert policy.requests is not None
    log = SlidingWindowLog(
        requests=policy.requests,
        per_seconds=policy.per_seconds,
        bulk_requests=policy.bulk_requests,
    )
    latency, horizon = 100.0, 30_000.0
    arrivals = [50.0 + 600.0 * k for k in range(50)]
    answers: list[tuple[float, bool]] = []  # a heap of (answer time, bulk) still to come
    waiting: list[float] = []  # arrival times of fresh requests not yet admitted
    sent: dict[Work, list[tuple[float, float]]] = {"bulk": [], "fresh": []}
    waits: list[float] = []
    now = 0.0

    def send(kind: Work) -> None:
        sent[kind].append((now, now + latency))
        heapq.heappush(answers, (now + latency, kind == "bulk"))

    while now <= horizon:
        while answers and answers[0][0] <= now:
            answered_at, bulk = heapq.heappop(answers)
            log.answered(answered_at, bulk=bulk)
        while arrivals and arrivals[0] <= now:
            waiting.append(arrivals.pop(0))
        while (bulk_wait := log.try_admit(now, bulk=True)) is None:
            send("bulk")
        fresh_wait: float | None = None
        while waiting and (fresh_wait := log.try_admit(now)) is None:
            waits.append(now - waiting.pop(0))
            send("fresh")
        # The next moment anything can change: an answer, an arrival, the window sliding.
        now = min(
            now + bulk_wait,
            now + fresh_wait if waiting and fresh_wait is not None else math.inf,
            answers[0][0] if answers else math.inf,
            arrivals[0] if arrivals else math.inf,
        )
    return waits, sent


def _most_counted(requests: list[tuple[float, float]], window: float) -> int:
    """The most requests a server window could count, judged at each send.

    A request may be counted anywhere in its flight, so at a send ``s`` every request
    sent by then and answered after ``s - window`` may share a window with it.
    """
    return max(
        sum(1 for sent, answered in requests if sent <= s < answered + window) for s, _ in requests
    )


def test_under_saturating_bulk_work_fresh_requests_within_the_share_never_wait() -> None:
    waits, sent = _simulate(share=0.25)

    assert len(waits) == 50
    assert max(waits) == 0.0
    # Bulk kept busy with its three quarters, and never held more than that.
    assert len(sent["bulk"]) >= 150
    assert _most_counted(sent["bulk"], 1000.0) == 6
    assert _most_counted(sent["bulk"] + sent["fresh"], 1000.0) == 8


def test_without_a_share_the_same_bulk_work_starves_fresh_requests() -> None:
    waits, sent = _simulate(share=0.0)

    # Bulk goes first at every moment and takes every place that frees: none is left.
    assert (waits, sent["fresh"]) == ([], [])
    assert _most_counted(sent["bulk"], 1000.0) == 8


class _Body(httpx.AsyncByteStream):
    """A body still to be read, as the network gives it: the slot is held until it is closed."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{}"


class _Gate(httpx.AsyncBaseTransport):
    """The vendor: answers at once, except bulk requests, each held until the test lets it go."""

    def __init__(self) -> None:
        self.arrived: list[Work] = []
        self.changed = asyncio.Condition()
        self._held: list[asyncio.Event] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind: Work = "bulk" if request.extensions.get(BULK_EXTENSION) is True else "fresh"
        release = asyncio.Event()
        async with self.changed:
            self.arrived.append(kind)
            if kind == "bulk":
                self._held.append(release)
            self.changed.notify_all()
        if kind == "bulk":
            await release.wait()
        return httpx.Response(200, stream=_Body())

    def let_one_bulk_answer(self) -> None:
        self._held.pop(0).set()

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(condition), DEADLINE_SECONDS)


async def test_bulk_requests_hold_their_slots_and_a_fresh_request_goes_past_them() -> None:
    gate = _Gate()
    registry = BudgetRegistry(clock=_frozen_clock)
    policy = RatePolicy(max_in_flight=2, reserved_share=0.25)
    transport = RateLimitTransport(gate, connection_key="conn", policy=policy, registry=registry)
    async with httpx.AsyncClient(transport=transport, base_url="http://vendor.test") as client:
        bulk = [
            asyncio.create_task(client.get("/report", extensions={BULK_EXTENSION: True}))
            for _ in range(4)
        ]
        await gate.wait_for(lambda: gate.arrived == ["bulk"])

        fresh = await asyncio.wait_for(client.get("/employee/1"), DEADLINE_SECONDS)
        assert fresh.status_code == 200
        assert gate.arrived == ["bulk", "fresh"]

        # The bulk slot comes back when its answer is read, and the next bulk request takes it.
        gate.let_one_bulk_answer()
        await gate.wait_for(lambda: gate.arrived.count("bulk") == 2)
        assert (await asyncio.wait_for(bulk[0], DEADLINE_SECONDS)).status_code == 200
        assert not any(task.done() for task in bulk[1:])

        for task in bulk[1:]:
            task.cancel()
        await asyncio.gather(*bulk[1:], return_exceptions=True)


async def test_a_full_bulk_share_of_the_window_leaves_the_reserve_to_fresh_requests() -> None:
    gate = _Gate()
    registry = BudgetRegistry(clock=_frozen_clock)
    policy = RatePolicy(requests=4, per_seconds=60.0, reserved_share=0.25)
    transport = RateLimitTransport(gate, connection_key="conn", policy=policy, registry=registry)
    async with httpx.AsyncClient(transport=transport, base_url="http://vendor.test") as client:
        bulk = [
            asyncio.create_task(client.get("/report", extensions={BULK_EXTENSION: True}))
            for _ in range(6)
        ]
        await gate.wait_for(lambda: gate.arrived.count("bulk") == 3)

        fresh = await asyncio.wait_for(client.get("/employee/1"), DEADLINE_SECONDS)

        assert fresh.status_code == 200
        assert gate.arrived == ["bulk", "bulk", "bulk", "fresh"]
        for task in bulk:
            task.cancel()
        await asyncio.gather(*bulk, return_exceptions=True)


async def test_a_cancelled_bulk_wait_gives_back_its_share_of_the_slots() -> None:
    budget = ConnectionBudget(RatePolicy(max_in_flight=3, reserved_share=0.5), clock=_frozen_clock)
    await budget.acquire(bulk=True)  # bulk may hold one of three
    queued = asyncio.create_task(budget.acquire(bulk=True))
    fresh = asyncio.create_task(budget.acquire())
    await asyncio.wait_for(fresh, DEADLINE_SECONDS)  # ran after the bulk wait had queued

    queued.cancel()
    await asyncio.gather(queued, return_exceptions=True)
    budget.release(bulk=True)

    await asyncio.wait_for(budget.acquire(bulk=True), DEADLINE_SECONDS)
    await asyncio.wait_for(budget.acquire(), DEADLINE_SECONDS)  # the third slot, still free


async def test_a_response_read_before_it_reaches_the_limiter_gives_its_slot_back_at_once() -> None:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{}")  # built read and closed, as in-process mocks are

    transport = RateLimitTransport(
        httpx.MockTransport(answer),
        connection_key="conn",
        policy=RatePolicy(max_in_flight=1),
        registry=BudgetRegistry(clock=_frozen_clock),
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://vendor.test") as client:
        for _ in range(3):
            answered = await asyncio.wait_for(client.get("/employee/1"), DEADLINE_SECONDS)
            assert answered.status_code == 200
