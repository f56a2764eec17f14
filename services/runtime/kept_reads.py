"""A vendor's slow-changing list, read once and kept for a while per connection.

A chart of accounts, a list of expense categories: every record a sink writes needs one to
place its lines, and a bookkeeper changes them now and then. Reading them for every record
would be a third of a backfill's calls; keeping them forever would miss the account added
this morning. A kept read serves for ``keep_seconds``; the caller asks for a ``fresh`` one
when the kept one cannot place a line (the thing may have been added since), and
``forget``\\s it when the vendor refused a write (it may have been removed since). So a
kept read can delay a record by one read, never send it to review for something the
vendor has.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Kept", "KeptReads"]

T = TypeVar("T")
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Kept(Generic[T]):
    """A read's value, and whether it came from an earlier read."""

    value: T
    kept: bool


class KeptReads(Generic[T]):
    """The last read per key, for ``keep_seconds`` (0 keeps nothing)."""

    def __init__(self, *, keep_seconds: float, clock: Clock = time.monotonic) -> None:
        self._keep = keep_seconds
        self._clock = clock
        self._reads: dict[Hashable, tuple[float, T]] = {}

    async def read(
        self, key: Hashable, load: Callable[[], Awaitable[T]], *, fresh: bool = False
    ) -> Kept[T]:
        kept = self._reads.get(key)
        if kept is not None and not fresh and self._clock() - kept[0] < self._keep:
            return Kept(kept[1], kept=True)
        value = await load()
        self._reads[key] = (self._clock(), value)
        return Kept(value, kept=False)

    def forget(self, key: Hashable) -> None:
        self._reads.pop(key, None)
