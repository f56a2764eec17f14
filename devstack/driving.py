"""Driving the running stack from outside, as a person would: what every flow's demo play uses.

Progress lines (:func:`step`, :func:`note`), waiting on a condition with a deadline and a
progress line, and the calls a play makes: ``mlc connections sync`` through the operator
API, a sandbox's actions and state through its control API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

if TYPE_CHECKING:
    from devstack.stack import StackInfo

__all__ = [
    "DemoFailedError",
    "note",
    "request_reconcile",
    "sandbox_action",
    "sandbox_state",
    "step",
    "wait_with_progress",
]

T = TypeVar("T")

PROGRESS_EVERY_SECONDS = 3.0


class DemoFailedError(RuntimeError):
    """A step did not do what it should; the message says what was seen."""


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def note(text: str) -> None:
    print(f"    {text}", flush=True)


async def wait_with_progress(
    what: str,
    check: Callable[[], Awaitable[tuple[T | None, str]]],
    *,
    deadline_seconds: float,
) -> T:
    """Call ``check`` until it returns a value; print its progress line when it changes."""
    started = time.monotonic()
    shown, last_shown_at = "", 0.0
    while True:
        value, progress = await check()
        if value is not None:
            note(f"{what}: {progress} ({time.monotonic() - started:.0f} s)")
            return value
        now = time.monotonic()
        if now - started > deadline_seconds:
            msg = f"{what}: not done within {deadline_seconds:.0f} s; last seen: {progress}"
            raise DemoFailedError(msg)
        # A line when something moved, and now and then while nothing does.
        quiet_for = now - last_shown_at
        if (progress != shown and quiet_for >= PROGRESS_EVERY_SECONDS) or quiet_for > 10:
            note(f"{what}: {progress} ...")
            shown, last_shown_at = progress, now
        await asyncio.sleep(1.0)  # poll: the log and the sandboxes are read again


async def request_reconcile(info: StackInfo, connection_id: str) -> str:
    """``mlc connections sync <id>``: the operator API publishes a ReconcileTick now."""
    async with httpx.AsyncClient(
        base_url=f"{info.control}/api/v1",
        headers={"Authorization": f"Bearer {info.operator_token}"},
        timeout=30.0,
    ) as api:
        answer = await api.post(f"/connections/{connection_id}/sync")
    if not answer.is_success:
        raise DemoFailedError(f"mlc connections sync answered {answer.status_code}: {answer.text}")
    tick = answer.json()
    return (
        f"mlc connections sync {connection_id}: ReconcileTick {tick['event_id']} on {tick['topic']}"
    )


async def sandbox_action(url: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30.0) as client:
        answer = await client.post(f"{url}/_sandbox/actions/{name}", json=payload)
    if not answer.is_success:
        raise DemoFailedError(
            f"{url}/_sandbox/actions/{name} answered {answer.status_code}: {answer.text}"
        )
    return dict(answer.json())


async def sandbox_state(url: str, collection: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30.0) as client:
        answer = await client.get(f"{url}/_sandbox/state/{collection}")
    answer.raise_for_status()
    return list(answer.json())
