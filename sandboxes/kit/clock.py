"""The sandbox clock: wall time plus an offset that the control API can advance.

Vendor code asks this clock, never `datetime.now()`, for anything that expires (tokens,
codes, sessions, rate-limit windows, webhook retries), so a test can jump an hour ahead
with `POST /_sandbox/clock {"advance_seconds": 3600}` instead of waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["SandboxClock"]


class SandboxClock:
    """Real time shifted by an adjustable offset; optionally frozen at a fixed instant."""

    def __init__(self, *, frozen_at: datetime | None = None) -> None:
        self._offset = 0.0
        self._frozen = frozen_at.timestamp() if frozen_at is not None else None
        self._listeners: list[Callable[[], None]] = []

    def timestamp(self) -> float:
        """Seconds since the epoch on the sandbox clock."""
        base = self._frozen if self._frozen is not None else time.time()
        return base + self._offset

    def now(self) -> datetime:
        """The sandbox's current time, timezone-aware UTC."""
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (negative values are refused: time does not run back)."""
        if seconds < 0:
            msg = "the sandbox clock only moves forward"
            raise ValueError(msg)
        self._offset += seconds
        for listener in list(self._listeners):
            listener()

    def reset(self) -> None:
        self._offset = 0.0
        for listener in list(self._listeners):
            listener()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever the clock is moved (the webhook worker wakes on it)."""
        self._listeners.append(listener)
