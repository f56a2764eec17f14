"""The edge's batched ledger claims (``services/ingest/claims.py``) and the ledger's
``claim_many`` under them, on both backends: concurrent claims share transactions, each
caller learns whether it won, and a failed batch fails every claim in it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from services.ingest.claims import LedgerClaims
from services.runtime.store import StateStore
from services.runtime.store.repositories import Repositories

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


async def test_claim_many_claims_the_new_keys_with_their_outcome(store: StateStore) -> None:
    async with store.transaction() as tx:
        assert await tx.ledger.claim("ingest", "k-1", now=T0)
    async with store.transaction() as tx:
        won = await tx.ledger.claim_many(
            "ingest", ["k-1", "k-2", "k-3", "k-2"], outcome="published", now=T0
        )
        assert won == {"k-2", "k-3"}
        entry = await tx.ledger.get("ingest", "k-3")
        assert await tx.ledger.claim_many("ingest", [], outcome="published") == set()
    assert entry is not None
    assert entry.outcome == "published"


class CountingStore:
    """A store whose write transactions are counted (and can be made to fail)."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self.transactions = 0
        self.failing: Exception | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repositories]:
        self.transactions += 1
        if self.failing is not None:
            raise self.failing
        async with self._store.transaction() as tx:
            yield tx


async def test_concurrent_claims_share_transactions_and_each_learns_if_it_won(
    store: StateStore,
) -> None:
    counting = CountingStore(store)
    claims = LedgerClaims(counting, "ingest", outcome="published", clock=lambda: T0)  # type: ignore[arg-type]
    first = await asyncio.gather(*(claims.claim(f"d-{n}") for n in range(50)))
    assert first == [True] * 50
    # The first claim starts a transaction; the 49 that came while it ran share the next.
    assert counting.transactions <= 3
    again = await asyncio.gather(claims.claim("d-7"), claims.claim("d-new"), claims.claim("d-new"))
    assert list(again) == [False, True, False]
    async with store.transaction() as tx:
        entry = await tx.ledger.get("ingest", "d-49")
    assert entry is not None
    assert entry.outcome == "published"


async def test_a_failed_batch_fails_each_claim_and_the_next_batch_is_written(
    store: StateStore,
) -> None:
    counting = CountingStore(store)
    claims = LedgerClaims(counting, "ingest", outcome="published", clock=lambda: T0)  # type: ignore[arg-type]
    counting.failing = ConnectionError("the store is down")
    results = await asyncio.gather(
        *(claims.claim(f"e-{n}") for n in range(5)), return_exceptions=True
    )
    assert [type(result) for result in results] == [ConnectionError] * 5
    counting.failing = None
    assert await claims.claim("e-1") is True  # nothing was claimed by the failed batch


async def test_a_cancelled_claim_does_not_stop_the_others(store: StateStore) -> None:
    claims = LedgerClaims(store, "ingest", outcome="published", clock=lambda: T0)
    waiting = [asyncio.create_task(claims.claim(f"f-{n}")) for n in range(4)]
    waiting[1].cancel()
    done = await asyncio.gather(*waiting, return_exceptions=True)
    assert done[0] is True
    assert done[2:] == [True, True]
    assert isinstance(done[1], asyncio.CancelledError)


@pytest.mark.parametrize("count", [1, 200])
async def test_claims_are_written_with_or_without_company(store: StateStore, count: int) -> None:
    claims = LedgerClaims(store, "ingest", outcome="published", clock=lambda: T0)
    assert all(await asyncio.gather(*(claims.claim(f"g-{n}") for n in range(count))))
    async with store.transaction() as tx:
        found = [await tx.ledger.get("ingest", f"g-{n}") for n in range(count)]
    assert all(entry is not None for entry in found)
