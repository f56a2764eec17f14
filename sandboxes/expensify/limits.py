"""Expensify's request limits: several sliding windows at once, per partnerUserID.

The kit's limiter counts one fixed window per tenant read from headers or the path; the
Integration Server's tenant is inside the form body and it publishes two windows together
(5 per 10 s and 20 per 60 s, sheet 10), so the endpoint applies this one after reading the
body. Windows slide [I]: a client that keeps under a sliding window keeps under a fixed one.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque

from sandboxes.kit import SandboxClock

__all__ = ["SlidingWindows"]


class SlidingWindows:
    """Admits a request when every `(requests, seconds)` window still has room."""

    def __init__(self, clock: SandboxClock, windows: tuple[tuple[int, float], ...]) -> None:
        self._clock = clock
        self.windows = windows
        self._admitted: defaultdict[str, deque[float]] = defaultdict(deque)

    def admit(self, key: str) -> int | None:
        """Count one request for `key`; or, when a window is full, seconds until it frees."""
        now = self._clock.timestamp()
        times = self._admitted[key]
        longest = max((seconds for _, seconds in self.windows), default=0.0)
        while times and times[0] <= now - longest:
            times.popleft()
        wait = 0.0
        for limit, seconds in self.windows:
            inside = [t for t in times if t > now - seconds]
            if len(inside) >= limit:
                # The oldest request still inside must leave before one more fits.
                wait = max(wait, inside[-limit] + seconds - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        times.append(now)
        return None

    def reset(self, windows: tuple[tuple[int, float], ...] | None = None) -> None:
        if windows is not None:
            self.windows = windows
        self._admitted.clear()
