"""The license's request pacing: a concurrency gate and the 50 % delay rule (sheet section 8).

The kit's limiter declines what the license declines (requests beyond the per-minute limit,
and more requests in flight than the license serves plus its queue of 20) with a 429; this
layer adds what happens to admitted requests on the real service: at most
`license_concurrent_requests` run at once while the rest wait in the queue, and once half
the minute's limit is used each request is delayed by (time left in the minute) / (requests
left), e.g. limit 50, 25 done, 20 s left: 0.8 s.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.kit import SandboxClock

__all__ = ["LicenseThrottle", "pacing_delay"]

WINDOW_SECONDS = 60.0


def pacing_delay(*, limit: int, done: int, seconds_left: float, from_fraction: float) -> float:
    """The vendor's documented delay for the next request of the minute (0 below the mark)."""
    if done < limit * from_fraction:
        return 0.0
    left = limit - done
    return seconds_left / left if left > 0 else seconds_left


class LicenseThrottle:
    """ASGI wrapper around the vendor routes; `exempt(path)` requests skip it (logout)."""

    def __init__(
        self,
        app: ASGIApp,
        clock: SandboxClock,
        settings: AcumaticaSandboxSettings,
        exempt: tuple[str, ...],
    ) -> None:
        self._app = app
        self._clock = clock
        self._settings = settings
        self._exempt = exempt
        self.reset()

    def reset(self) -> None:
        self._gate = asyncio.Semaphore(self._settings.license_concurrent_requests)
        self._window = -1
        self._done = 0

    def _delay(self) -> float:
        limit = self._settings.license_requests_per_minute
        if limit is None:
            return 0.0
        now = self._clock.timestamp()
        window = int(now // WINDOW_SECONDS)
        if window != self._window:
            self._window, self._done = window, 0
        seconds_left = (window + 1) * WINDOW_SECONDS - now
        delay = pacing_delay(limit=limit, done=self._done, seconds_left=seconds_left,
                             from_fraction=self._settings.throttle_delay_from_fraction)  # fmt: skip
        self._done += 1
        return delay * self._settings.throttle_delay_scale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith(self._exempt):
            await self._app(scope, receive, send)
            return
        delay = self._delay()
        if delay > 0:
            # The vendor's own pacing: the request really is held this long.
            await asyncio.sleep(delay)
        async with self._gate:
            await self._app(scope, receive, send)
