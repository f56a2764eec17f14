"""Outgoing webhook delivery: a background worker that POSTs what the vendor code enqueues.

Vendor code calls `WebhookDispatcher.send(url=..., body=..., headers=..., retry_delays=...)`
with the exact bytes and headers the vendor would send (signing is the vendor's business).
The worker delivers in order, records every attempt (url, headers, body, the answer's
status) and retries non-2xx answers that `retry_on` accepts after the vendor's delays, on the
sandbox clock (so `POST /_sandbox/clock` makes an "80 minutes later" retry happen now).

Delivery faults (`POST /_sandbox/webhooks`), each applying to the next N deliveries:
`drop` (recorded as dropped, never sent), `duplicate` (sent twice), `reorder` (the next N are
held and then sent newest first), `delay_ms` (every delivery waits that long on the sandbox
clock), and `url` (deliver everything there instead of the registered URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from sandboxes.kit.clock import SandboxClock

__all__ = ["DeliveryRecord", "WebhookConfig", "WebhookDispatcher"]


class WebhookConfig(BaseModel):
    """Where and how deliveries go; the counters are used up one per delivery."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    delay_ms: int = Field(default=0, ge=0)
    drop: int = Field(default=0, ge=0)
    duplicate: int = Field(default=0, ge=0)
    reorder: int = Field(default=0, ge=0)


Outcome = Literal["delivered", "failed", "dropped"]


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt (or one dropped delivery). `status` is None when nothing answered."""

    delivery_id: int
    attempt: int
    url: str
    headers: dict[str, str]
    body: str
    status: int | None
    outcome: Outcome
    time: str
    error: str | None = None
    tag: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "attempt": self.attempt,
            "url": self.url,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "outcome": self.outcome,
            "time": self.time,
            "error": self.error,
            "tag": self.tag,
        }


@dataclass
class _Outgoing:
    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]
    retry_delays: tuple[float, ...]
    tag: str | None
    due: float
    attempt: int = 1
    order: int = 0


@dataclass
class _Queue:
    items: list[_Outgoing] = field(default_factory=list)
    held: list[_Outgoing] = field(default_factory=list)


def _default_retry_on(status: int | None) -> bool:
    return status is None or status >= 500


class WebhookDispatcher:
    """Queues, delivers and records vendor webhooks; the worker starts on first use."""

    def __init__(
        self,
        clock: SandboxClock,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = 5.0,
        retry_on: Callable[[int | None], bool] = _default_retry_on,
    ) -> None:
        self._clock = clock
        self._transport = transport
        self._timeout = timeout_seconds
        self._retry_on = retry_on
        self.config = WebhookConfig()
        self.deliveries: list[DeliveryRecord] = []
        self._queue = _Queue()
        self._ids = itertools.count(1)
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._in_progress = 0
        clock.on_change(self._on_clock_change)

    def _on_clock_change(self) -> None:
        self._wake.set()

    @property
    def pending(self) -> int:
        """Deliveries (and retries) not yet attempted, plus any in progress or held."""
        return len(self._queue.items) + len(self._queue.held) + self._in_progress

    def configure(self, config: WebhookConfig) -> None:
        self.config = config
        if config.reorder == 0 and self._queue.held:
            self._release_held()

    def send(
        self,
        *,
        url: str,
        body: bytes,
        headers: dict[str, str],
        retry_delays: Sequence[float] = (),
        tag: str | None = None,
    ) -> int:
        """Enqueue one delivery (after applying the delivery faults); returns its id."""
        delivery_id = next(self._ids)
        target = self.config.url or url
        if self.config.drop > 0:
            self.config.drop -= 1
            self.deliveries.append(
                DeliveryRecord(
                    delivery_id=delivery_id,
                    attempt=0,
                    url=target,
                    headers=dict(headers),
                    body=body.decode("utf-8", "replace"),
                    status=None,
                    outcome="dropped",
                    time=self._clock.now().isoformat(),
                    tag=tag,
                )
            )
            return delivery_id
        copies = 1
        if self.config.duplicate > 0:
            self.config.duplicate -= 1
            copies = 2
        due = self._clock.timestamp() + self.config.delay_ms / 1000
        for _ in range(copies):
            item = _Outgoing(
                delivery_id=delivery_id,
                url=target,
                body=body,
                headers=dict(headers),
                retry_delays=tuple(retry_delays),
                tag=tag,
                due=due,
                order=next(self._order),
            )
            if self.config.reorder > 0:
                self._queue.held.append(item)
            else:
                self._queue.items.append(item)
        if self.config.reorder > 0:
            self.config.reorder -= 1
            if self.config.reorder == 0:
                self._release_held()
        self._ensure_worker()
        self._wake.set()
        return delivery_id

    def _release_held(self) -> None:
        held = list(reversed(self._queue.held))
        self._queue.held.clear()
        base = min((item.due for item in held), default=0.0)
        for item in held:
            item.due = base
            item.order = next(self._order)
            self._queue.items.append(item)
        self._wake.set()

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._wake = asyncio.Event()
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock.timestamp()
            ready = [item for item in self._queue.items if item.due <= now]
            if not ready:
                upcoming = [item.due - now for item in self._queue.items]
                # Wake on new work or a clock jump; otherwise when the next item falls due.
                timeout = min(upcoming) if upcoming else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                continue
            item = min(ready, key=lambda candidate: (candidate.due, candidate.order))
            self._queue.items.remove(item)
            self._in_progress += 1
            try:
                await self._attempt(item)
            finally:
                self._in_progress -= 1

    async def _attempt(self, item: _Outgoing) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        status: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(item.url, content=item.body, headers=item.headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivered = status is not None and 200 <= status < 300
        self.deliveries.append(
            DeliveryRecord(
                delivery_id=item.delivery_id,
                attempt=item.attempt,
                url=item.url,
                headers=item.headers,
                body=item.body.decode("utf-8", "replace"),
                status=status,
                outcome="delivered" if delivered else "failed",
                time=self._clock.now().isoformat(),
                error=error,
                tag=item.tag,
            )
        )
        if not delivered and self._retry_on(status) and item.attempt <= len(item.retry_delays):
            item.due = self._clock.timestamp() + item.retry_delays[item.attempt - 1]
            item.attempt += 1
            item.order = next(self._order)
            self._queue.items.append(item)

    def retry_now(self) -> int:
        """Make every waiting retry (and delayed delivery) due now; how many there were.

        What moving the clock on does for them, without moving it: a clock ahead of the
        receiver's would sign the retries with timestamps it must refuse as too new.
        """
        now = self._clock.timestamp()
        waiting = [item for item in self._queue.items if item.due > now]
        for item in waiting:
            item.due = now
        self._wake.set()
        return len(waiting)

    def reset(self) -> None:
        """Forget the configuration, the queue and the record of deliveries."""
        self.config = WebhookConfig()
        self.deliveries.clear()
        self._queue = _Queue()
        self._wake.set()

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
