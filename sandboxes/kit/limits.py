"""Vendor limits: requests per window and concurrent requests, per tenant, on the sandbox clock.

Windows are fixed (aligned to multiples of `window_seconds` on the sandbox clock), which is
what most vendors describe ("100 requests per minute"). When a request is refused the
limiter says why and how many seconds until it may succeed (for `Retry-After`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sandboxes.kit.clock import SandboxClock

__all__ = ["LimitPolicy", "LimitRefusal", "Limiter"]


class LimitPolicy(BaseModel):
    """How much one tenant may do. `None` switches that limit off."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    requests: int | None = Field(default=None, ge=1)
    window_seconds: float = Field(default=60.0, gt=0)
    concurrent: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class LimitRefusal:
    """Why a request was refused and when to come back (whole seconds, at least 1)."""

    reason: Literal["rate", "concurrency"]
    retry_after: int
    limit: int


class Limiter:
    """Counts requests per tenant per window and requests in flight per tenant."""

    def __init__(self, clock: SandboxClock, policy: LimitPolicy) -> None:
        self._clock = clock
        self.policy = policy
        self._windows: dict[str, tuple[int, int]] = {}
        self._in_flight: defaultdict[str, int] = defaultdict(int)

    def acquire(self, tenant: str) -> LimitRefusal | None:
        """Admit one request (then `release` it when answered) or say why not."""
        policy = self.policy
        if not policy.enabled:
            self._in_flight[tenant] += 1
            return None
        if policy.concurrent is not None and self._in_flight[tenant] >= policy.concurrent:
            return LimitRefusal(reason="concurrency", retry_after=1, limit=policy.concurrent)
        if policy.requests is not None:
            now = self._clock.timestamp()
            window = int(now // policy.window_seconds)
            current, count = self._windows.get(tenant, (window, 0))
            if current != window:
                count = 0
            if count >= policy.requests:
                window_end = (window + 1) * policy.window_seconds
                wait = max(1, math.ceil(window_end - now))
                return LimitRefusal(reason="rate", retry_after=wait, limit=policy.requests)
            self._windows[tenant] = (window, count + 1)
        self._in_flight[tenant] += 1
        return None

    def release(self, tenant: str) -> None:
        self._in_flight[tenant] = max(0, self._in_flight[tenant] - 1)

    def in_flight(self, tenant: str) -> int:
        return self._in_flight[tenant]

    def reset(self, policy: LimitPolicy | None = None) -> None:
        """Forget every counter; optionally install a new policy."""
        if policy is not None:
            self.policy = policy
        self._windows.clear()
        self._in_flight.clear()
