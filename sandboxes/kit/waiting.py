"""Wait for a condition with a deadline: how tests wait for asynchronous webhook deliveries."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

__all__ = ["wait_until"]

T = TypeVar("T")


@overload
async def wait_until(
    condition: Callable[[], Awaitable[T | None]],
    *,
    timeout_seconds: float = ...,
    interval_seconds: float = ...,
    message: str = ...,
    details: Callable[[], str] | None = ...,
) -> T: ...


@overload
async def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout_seconds: float = ...,
    interval_seconds: float = ...,
    message: str = ...,
    details: Callable[[], str] | None = ...,
) -> T: ...


async def wait_until(
    condition: Callable[[], T | None] | Callable[[], Awaitable[T | None]],
    *,
    timeout_seconds: float = 5.0,
    interval_seconds: float = 0.02,
    message: str = "condition",
    details: Callable[[], str] | None = None,
) -> T:
    """Call `condition` until it returns something truthy and return that; TimeoutError after.

    ``details`` says what was seen instead, appended to the timeout's message.
    """
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    while True:
        outcome = condition()
        value = await outcome if inspect.isawaitable(outcome) else outcome
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            seen = f"\n{details()}" if details else ""
            raise TimeoutError(f"{message} not met within {timeout_seconds} s{seen}")
        await asyncio.sleep(interval_seconds)  # poll
