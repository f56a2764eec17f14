"""Memory a burst freed goes back to the node: glibc's ``malloc_trim`` now and then.

After a backlog (a replay, a backfill) a service's objects are freed, but glibc keeps the
freed pages inside its heaps for the next burst, so the process stays as large as its
peak: the node pays for a backlog long after it is gone. Measured on flow 1 after a
10,000-event replay, one trim took the FreshBooks service from 132 to 120 MB resident and
the edge and control plane from 142 to 133 MB. A trim costs a few milliseconds, so every
service runs one every ``MLC_MEMORY_RETURN_SECONDS`` beside its ops port (0: never).

What a trim cannot give back is Python's own arenas that still hold one live object;
only fewer objects alive at the peak helps there. Where the C library is not glibc (musl,
macOS) there is no ``malloc_trim`` and nothing runs.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

from services.runtime.health import Sampler

__all__ = ["glibc_trim", "memory_return_sampler"]


def glibc_trim() -> Callable[[], int] | None:
    """``malloc_trim(0)`` of this process's C library; None when it has none."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def trim_all() -> int:
        return int(trim(0))

    return trim_all


def memory_return_sampler(
    every_seconds: float, *, trim: Callable[[], int] | None = None
) -> Sampler | None:
    """A trim every ``every_seconds`` (``trim``: glibc's); None when off or there is none."""
    give_back = trim or glibc_trim()
    if every_seconds <= 0 or give_back is None:
        return None

    async def sample() -> None:
        give_back()

    return Sampler("memory_return", sample, every_seconds)
