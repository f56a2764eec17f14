"""What a benchmark reports: measurements, each against a stated target.

A target is a floor (``at least``: rates) or a ceiling (``at most``: latencies,
memory). Missing one is not an error while the run goes on; the run's exit
status says whether every target was met.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Measurement",
    "Target",
    "failed",
    "percentile",
    "rate_of",
    "rate_of_async",
    "skipped",
]


@dataclass(frozen=True, slots=True)
class Target:
    """The value a measurement should reach, and why that value."""

    value: float
    direction: Literal["at_least", "at_most"]
    reason: str

    def is_met_by(self, measured: float) -> bool:
        if self.direction == "at_least":
            return measured >= self.value
        return measured <= self.value

    def describe(self, unit: str) -> str:
        sign = ">=" if self.direction == "at_least" else "<="
        return f"{sign} {_format_number(self.value)} {unit}"


@dataclass(frozen=True, slots=True)
class Measurement:
    """One row of the report: ``value`` in ``unit`` for ``name``, or why it was skipped."""

    name: str
    value: float | None
    unit: str
    target: Target | None = None
    note: str = ""
    failed: bool = False

    @property
    def met(self) -> bool | None:
        """True or False against the target; None when skipped or without a target.

        A benchmark that failed to run has missed its target: a broken spine is not fast.
        """
        if self.failed:
            return False
        if self.value is None or self.target is None:
            return None
        return self.target.is_met_by(self.value)

    @property
    def result_text(self) -> str:
        if self.failed:
            return f"failed: {self.note}"
        if self.value is None:
            return f"skipped: {self.note}"
        return f"{_format_number(self.value)} {self.unit}"

    @property
    def target_text(self) -> str:
        return "-" if self.target is None else self.target.describe(self.unit)

    @property
    def met_text(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.met]


def skipped(name: str, unit: str, reason: str, target: Target | None = None) -> Measurement:
    """A row that could not be measured here, saying why (a skip is not a miss)."""
    return Measurement(name=name, value=None, unit=unit, target=target, note=reason)


def failed(name: str, error: BaseException) -> Measurement:
    """A row for a benchmark that raised instead of measuring (counted as missed)."""
    reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
    return Measurement(name=name, value=None, unit="", note=reason, failed=True)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (``fraction`` 0.5 is the median)."""
    if not samples:
        msg = "no samples to take a percentile of"
        raise ValueError(msg)
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def rate_of(operation: Callable[[], object], *, count: int, warm_up: int) -> float:
    """Calls of ``operation`` per second over ``count`` timed calls after ``warm_up`` untimed."""
    for _ in range(warm_up):
        operation()
    started = time.perf_counter()
    for _ in range(count):
        operation()
    return count / (time.perf_counter() - started)


async def rate_of_async(
    operation: Callable[[int], Awaitable[object]], *, count: int, warm_up: int
) -> float:
    """Awaited calls of ``operation(i)`` per second, one at a time, after a warm-up."""
    for index in range(warm_up):
        await operation(-1 - index)
    started = time.perf_counter()
    for index in range(count):
        await operation(index)
    return count / (time.perf_counter() - started)


def _format_number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
