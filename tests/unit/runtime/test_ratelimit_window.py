"""The sliding window's arithmetic, and one budget per connection key."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.ratelimit import (
    BudgetRegistry,
    ConflictingRatePolicyError,
    RatePolicy,
    SlidingWindowLog,
)


def test_the_first_requests_up_to_the_budget_go_at_once() -> None:
    log = SlidingWindowLog(requests=3, per_seconds=1.0)
    assert [log.try_admit(0.0) for _ in range(3)] == [None, None, None]
    assert log.in_flight == 3


def test_a_full_window_with_nothing_answered_waits_for_an_answer() -> None:
    log = SlidingWindowLog(requests=2, per_seconds=1.0)
    log.try_admit(0.0)
    log.try_admit(0.0)
    assert log.try_admit(5.0) == math.inf


def test_a_slot_frees_one_window_after_its_answer_not_after_its_send() -> None:
    log = SlidingWindowLog(requests=2, per_seconds=1.0)
    log.try_admit(0.0)
    log.try_admit(0.0)
    log.answered(0.3)
    log.answered(0.4)
    assert log.try_admit(1.0) == pytest.approx(0.3)
    assert log.try_admit(1.3) is None
    assert log.try_admit(1.3) == pytest.approx(0.1)
    assert log.try_admit(1.4) is None


@given(
    st.lists(st.tuples(st.floats(0.0, 0.5), st.floats(0.0, 0.5)), min_size=1, max_size=60),
    st.integers(1, 6),
)
def test_no_window_at_the_server_can_hold_more_than_the_budget(
    steps: list[tuple[float, float]], requests: int
) -> None:
    """Simulated time: each step thinks, then sends as soon as admitted, then waits ``latency``.

    The server counts a request somewhere between its send and its answer. Whatever those
    moments are, no window may hold ``requests + 1``: for each request, the ``requests``-th
    latest answer among those sent before it must be a full window before its send.
    """
    window = 1.0
    log = SlidingWindowLog(requests=requests, per_seconds=window)
    now = 0.0
    pending: list[float] = []  # answer times still to come, earliest first
    sent: list[tuple[float, float]] = []  # (send, answer) in send order

    def deliver_answers_until(moment: float) -> None:
        while pending and pending[0] <= moment:
            log.answered(pending.pop(0))

    for think, latency in steps:
        now += think
        deliver_answers_until(now)
        while (wait := log.try_admit(now)) is not None:
            now = min(now + wait, pending[0] if pending else math.inf)
            deliver_answers_until(now)
        sent.append((now, now + latency))
        pending.append(now + latency)
        pending.sort()

    for j, (send, _) in enumerate(sent):
        earlier_answers = sorted((answer for _, answer in sent[:j]), reverse=True)
        if len(earlier_answers) >= requests:
            assert send - earlier_answers[requests - 1] >= window - 1e-9


def test_one_connection_key_has_one_budget() -> None:
    registry = BudgetRegistry()
    registry.register("conn-1", RatePolicy(requests=5, per_seconds=1.0))
    registry.register("conn-1", RatePolicy(requests=5, per_seconds=1.0))
    with pytest.raises(ConflictingRatePolicyError, match="conn-1"):
        registry.register("conn-1", RatePolicy(requests=10, per_seconds=1.0))


async def test_clients_of_one_key_draw_on_the_same_budget_object() -> None:
    registry = BudgetRegistry()
    registry.register("conn-1", RatePolicy(max_in_flight=2))
    registry.register("conn-2", RatePolicy(max_in_flight=2))
    assert registry.budget("conn-1") is registry.budget("conn-1")
    assert registry.budget("conn-1") is not registry.budget("conn-2")


@pytest.mark.parametrize(
    "options",
    [{"requests": 0}, {"per_seconds": 0.0}, {"max_in_flight": 0}],
)
def test_a_nonsensical_rate_policy_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RatePolicy"):
        RatePolicy(**options)  # type: ignore[arg-type]
