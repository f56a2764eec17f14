"""An asyncio lock per key (a record, a lease), kept only while someone holds or awaits it.

Work about one record must take turns inside a process while work about others goes on:
a lock per record does that, but a dict of them would keep one for every record ever
seen. The weak map forgets a lock as soon as nobody refers to it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["KeyedLocks"]

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    """The lock of each key, made on first use and forgotten when idle."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[K, asyncio.Lock] = weakref.WeakValueDictionary()

    def of(self, key: K) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def __len__(self) -> int:
        """Locks still referred to (the others are forgotten)."""
        return len(self._locks)
