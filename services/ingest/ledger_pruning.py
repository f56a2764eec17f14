"""Forgetting old webhook delivery claims, by one replica at a time.

The intake claims each delivery it published in the idempotency ledger (service
``ingest``, see :mod:`services.ingest.webhooks`) so that a vendor's re-send is answered
``duplicate`` instead of published again. Without pruning that table grows by one row per
delivery forever. :class:`LedgerPruner` deletes the claims older than the retention; the
scheduler loop (:func:`services.ingest.schedules.run_scheduler`) calls it every cycle.

One replica. The pruner holds the lease :data:`PRUNE_LEASE`, taken or renewed in the same
transaction as the delete, so while the holder lives the others find it taken and skip;
the holder prunes at most once per ``every`` (an in-process pace: a replica that
takes the lease over prunes at once, which is harmless).

How long. The retention must outlast every vendor's retry horizon (docs/ingest.md,
"Duplicates and the ledger's retention") and is never shorter than the longest replay
window: a captured request replayed while its signed timestamp is still accepted must meet
its claim. Past the retention a re-send is published again, which consumers tolerate (the
bus is at-least-once); it only costs a re-read at the vendor.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from services.ingest.webhooks import LEDGER_SERVICE
from services.runtime.logging import get_logger
from services.runtime.store import StateStore

__all__ = ["PRUNE_EVERY", "PRUNE_LEASE", "LedgerPruner"]

PRUNE_LEASE: Final = "ingest.ledger_prune"
PRUNE_EVERY: Final = timedelta(hours=1)

_log = get_logger(__name__)


class LedgerPruner:
    """Deletes the intake's ledger claims older than ``retention`` under a lease."""

    def __init__(
        self,
        *,
        retention: timedelta,
        lease_ttl: timedelta,
        replay_windows: Iterable[timedelta] = (),
        every: timedelta = PRUNE_EVERY,
    ) -> None:
        self.retention = max([retention, *replay_windows])
        self._lease_ttl = lease_ttl
        self._every = every
        self._next_at: datetime | None = None

    async def run_once(self, store: StateStore, *, holder_id: str, now: datetime) -> int | None:
        """Prune if this holder has the lease and it is due: the rows deleted, else None."""
        async with store.transaction() as tx:
            held = await tx.leases.try_acquire(PRUNE_LEASE, holder_id, ttl=self._lease_ttl, now=now)
            if not held:
                self._next_at = None  # prune at once should the lease come back to us
                return None
            if self._next_at is not None and now < self._next_at:
                return None
            removed = await tx.ledger.prune(LEDGER_SERVICE, older_than=now - self.retention)
        self._next_at = now + self._every
        _log.info("ledger.pruned", removed=removed, older_than=(now - self.retention).isoformat())
        return removed

    async def release(self, store: StateStore, *, holder_id: str) -> None:
        """Give the lease back (on shutdown), so another replica takes pruning over now."""
        async with store.transaction() as tx:
            await tx.leases.release(PRUNE_LEASE, holder_id)
