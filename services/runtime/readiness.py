"""Readiness that reflects the broker: a service that cannot reach Kafka is not ready.

``/healthz`` is unauthenticated and probed every few seconds by an orchestrator (and by
anyone else), so one answer is reused for ``ttl`` seconds and concurrent probes share one
check: a flood of probes costs Kafka at most one metadata request per ``ttl``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["BrokerReadiness"]


class BrokerReadiness:
    """``await ready()``: did the broker answer a metadata request within ``timeout``?"""

    def __init__(
        self,
        ping: Callable[[float], Awaitable[bool]],
        *,
        timeout: float,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ping = ping  # FastStream's KafkaBroker.ping: a describe-cluster round trip
        self._timeout = timeout
        self._ttl = ttl
        self._clock = clock
        self._lock = asyncio.Lock()
        self._answer: tuple[float, bool] | None = None

    async def ready(self) -> bool:
        async with self._lock:
            if self._answer is not None and self._clock() - self._answer[0] < self._ttl:
                return self._answer[1]
            try:
                ok = await self._ping(self._timeout)
            except Exception:  # a broker never started, a closed client: not ready
                ok = False
            self._answer = (self._clock(), ok)
            return ok
