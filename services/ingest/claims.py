"""The edge's ledger claims, written together: one transaction for every claim waiting.

Each published delivery is claimed in the idempotency ledger (``services/ingest/webhooks.py``
says why after the ack). A transaction per claim made the store the edge's busiest part:
its begin, statement and commit per delivery cost more than the HMAC and the publish
together. Here a claim joins a batch instead: while one batch's transaction runs, the
claims that arrive wait for the next, which writes them all in one multi-row statement.
No claim waits for a timer, so a lone delivery is claimed as soon as it was before; under
load the batches grow by themselves.

A batch that fails fails each of its claims with the store's error, as a claim of its own
would have.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from services.runtime.store import StateStore

__all__ = ["LedgerClaims"]


class LedgerClaims:
    """Claims of ``service``'s keys, as done with ``outcome``, batched per transaction."""

    def __init__(
        self, store: StateStore, service: str, *, outcome: str, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._service = service
        self._outcome = outcome
        self._clock = clock
        self._waiting: list[tuple[str, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def claim(self, key: str) -> bool:
        """True if this call claimed ``key``; False if it had been claimed before."""
        claimed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, claimed))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        return await claimed

    async def _write_batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self._store.transaction() as tx:
                    won = await tx.ledger.claim_many(
                        self._service,
                        [key for key, _ in batch],
                        outcome=self._outcome,
                        now=self._clock(),
                    )
            except asyncio.CancelledError:
                # Shutting down: nobody may wait forever for a batch that will not be written.
                for _, claimed in batch + self._waiting:
                    claimed.cancel()
                raise
            except Exception as exc:  # each claim's caller decides what the error means
                for _, claimed in batch:
                    if not claimed.done():
                        claimed.set_exception(exc)
                continue
            for key, claimed in batch:
                if not claimed.done():  # its caller may have been cancelled meanwhile
                    claimed.set_result(key in won)
                    won.discard(key)  # the same key twice in one batch: the first wins
