"""Waiting on a condition with a deadline, for tests that watch another process or a broker."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

# How often a condition is checked; small next to every deadline used.
POLL_INTERVAL_S = 0.05


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout_s: float,
    what: str,
    details: Callable[[], str] = str,
) -> None:
    """Return once ``condition()`` is true; fail the test naming ``what`` after ``timeout_s``.

    ``condition`` may be a plain or an async function (e.g. one asking the broker).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}\n{details()}")
        await asyncio.sleep(POLL_INTERVAL_S)  # poll
