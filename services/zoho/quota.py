"""The organisation's daily call quota: kept from every answer, waited for when spent.

Zoho Books rations calls per organisation and day by edition (1,000 to 10,000, sheet
section 6) and says what is left on every answer. The figures are kept in the store
(:mod:`services.runtime.vendor_quota`, which ``mlc status`` shows), so every replica
knows. Once ``reserve`` calls or fewer are left, the sink makes no more calls until the
reset: its one ``waiting`` outcome says so and it waits, instead of failing every record
with code 45.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from schemas.envelope import utcnow
from services.runtime.store import StateStore
from services.runtime.vendor_quota import VendorQuota, read_quota, record_quota

__all__ = ["DailyQuota", "QuotaWaitTooLongError"]

# A write per answer would double the store's load for a figure that moves by one: keep
# the newest in memory and write it this often, or at once when it nears the reserve.
_WRITE_EVERY = timedelta(seconds=5)


class QuotaWaitTooLongError(RuntimeError):
    """The reset is further away than one wait may last: the bus retries the message later."""


class DailyQuota:
    """The daily quota of every Zoho connection this process calls."""

    def __init__(
        self,
        store: StateStore,
        *,
        reserve: int,
        max_wait_seconds: float,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._reserve = reserve
        self._max_wait = timedelta(seconds=max_wait_seconds)
        self.clock = clock  # the clients' too: quota figures are stamped on this clock
        self._sleep = sleep
        self._latest: dict[str, VendorQuota] = {}
        self._written_at: dict[str, datetime] = {}

    async def observed(self, connection_id: str, quota: VendorQuota) -> None:
        """An answer said ``quota``: keep it (in the store at most every few seconds)."""
        known = self._latest.get(connection_id)
        if known is not None and known.observed_at > quota.observed_at:
            return
        self._latest[connection_id] = quota
        written = self._written_at.get(connection_id)
        near = quota.remaining <= self._reserve * 2
        if written is None or near or quota.observed_at - written >= _WRITE_EVERY:
            async with self._store.transaction() as repos:
                await record_quota(repos, connection_id, quota)
            self._written_at[connection_id] = quota.observed_at

    async def spent(self, connection_id: str) -> VendorQuota | None:
        """The quota when no call should be made now (at or below the reserve), else None."""
        quota = self._latest.get(connection_id)
        if quota is None:
            async with self._store.transaction() as repos:
                quota = await read_quota(repos, connection_id)
            if quota is not None:
                self._latest[connection_id] = quota
        if quota is not None and quota.spent(reserve=self._reserve, now=self.clock()):
            return quota
        return None

    async def wait_for_reset(self, quota: VendorQuota) -> None:
        """Sleep until ``quota`` resets; QuotaWaitTooLongError when that is past the limit."""
        wait = quota.resets_at - self.clock()
        if wait > self._max_wait:
            msg = (
                f"Zoho's daily quota resets at {quota.resets_at.isoformat()}, later than the "
                f"longest wait ({self._max_wait}); the message is tried again later"
            )
            raise QuotaWaitTooLongError(msg)
        if wait > timedelta(0):
            await self._sleep(wait.total_seconds())
