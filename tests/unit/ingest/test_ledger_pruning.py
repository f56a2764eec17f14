"""Pruning the webhook ledger: retention, one replica under a lease, wired into the scheduler.

Against the real state store on each backend (``store``), with a clock the test moves by
hand; the claims are made at the clock's times, as the intake makes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sandboxes.kit import wait_until
from services.ingest.app import ledger_pruner
from services.ingest.ledger_pruning import PRUNE_EVERY, PRUNE_LEASE, LedgerPruner
from services.ingest.schedules import SchedulerSettings, scheduler_running
from services.ingest.webhooks import LEDGER_SERVICE
from services.runtime.store import StateStore
from tests.unit.ingest.ingest_harness import test_settings
from tests.unit.ingest.schedule_harness import ManualClock, RecordingPublisher

WEEK = timedelta(days=7)
TTL = timedelta(seconds=60)


async def _claim(store: StateStore, key: str, at: datetime) -> None:
    async with store.transaction() as tx:
        assert await tx.ledger.claim(LEDGER_SERVICE, key, now=at)


async def _claimed(store: StateStore, *keys: str) -> set[str]:
    async with store.transaction() as tx:
        return {k for k in keys if await tx.ledger.get(LEDGER_SERVICE, k) is not None}


async def test_claims_older_than_the_retention_go_and_younger_ones_stay(store: StateStore) -> None:
    clock = ManualClock()
    await _claim(store, "bamboohr:c1:old", clock.now - WEEK - timedelta(seconds=1))
    await _claim(store, "bamboohr:c1:young", clock.now - timedelta(days=4))
    async with store.transaction() as tx:
        assert await tx.ledger.claim("another-service", "bamboohr:c1:old", now=clock.now - WEEK)

    removed = await LedgerPruner(retention=WEEK, lease_ttl=TTL).run_once(
        store, holder_id="replica-a", now=clock()
    )

    assert removed == 1
    assert await _claimed(store, "bamboohr:c1:old", "bamboohr:c1:young") == {"bamboohr:c1:young"}
    async with store.transaction() as tx:  # other services' claims are theirs to prune
        assert await tx.ledger.get("another-service", "bamboohr:c1:old") is not None


async def test_only_the_lease_holder_prunes_and_another_takes_over_when_it_stops(
    store: StateStore,
) -> None:
    clock = ManualClock()
    a = LedgerPruner(retention=WEEK, lease_ttl=TTL)
    b = LedgerPruner(retention=WEEK, lease_ttl=TTL)
    assert await a.run_once(store, holder_id="replica-a", now=clock()) == 0
    await _claim(store, "zoho:c1:x", clock.now - WEEK - timedelta(seconds=1))

    for _ in range(3):  # a renews every cycle (and is not due again); b never gets a turn
        clock.advance(TTL.total_seconds() / 2)
        assert await a.run_once(store, holder_id="replica-a", now=clock()) is None
        assert await b.run_once(store, holder_id="replica-b", now=clock()) is None
    assert await _claimed(store, "zoho:c1:x") == {"zoho:c1:x"}

    clock.advance(TTL.total_seconds() + 1)  # a stopped renewing: its lease ran out
    assert await b.run_once(store, holder_id="replica-b", now=clock()) == 1
    assert await a.run_once(store, holder_id="replica-a", now=clock()) is None


async def test_the_holder_prunes_once_per_interval(store: StateStore) -> None:
    clock = ManualClock()
    pruner = LedgerPruner(retention=WEEK, lease_ttl=TTL)
    assert await pruner.run_once(store, holder_id="replica-a", now=clock()) == 0
    clock.advance(10)
    await _claim(store, "bill:c1:x", clock.now - WEEK - timedelta(seconds=1))

    assert await pruner.run_once(store, holder_id="replica-a", now=clock()) is None
    assert await _claimed(store, "bill:c1:x") == {"bill:c1:x"}  # not due within the hour
    clock.advance(PRUNE_EVERY.total_seconds())
    assert await pruner.run_once(store, holder_id="replica-a", now=clock()) == 1


def test_the_retention_never_undercuts_a_replay_window() -> None:
    settings = test_settings(webhook_dedupe_retention_hours=1, webhook_replay_window_seconds=60)
    scheduler = SchedulerSettings()

    pruner = ledger_pruner(settings, scheduler)

    # MLC_BAMBOOHR_WEBHOOK_REPLAY_WINDOW_SECONDS (3 h by default) is the longest window.
    assert pruner.retention == timedelta(hours=3)
    assert ledger_pruner(test_settings(), scheduler).retention == WEEK


async def test_the_scheduler_loop_prunes_and_gives_the_lease_back(store: StateStore) -> None:
    clock = ManualClock()
    await _claim(store, "bamboohr:c1:old", clock.now - WEEK - timedelta(seconds=1))
    await _claim(store, "bamboohr:c1:young", clock.now)
    settings = SchedulerSettings(check_interval_seconds=0.05, lease_seconds=1)

    async def pruned() -> bool | None:
        left = await _claimed(store, "bamboohr:c1:old", "bamboohr:c1:young")
        return True if left == {"bamboohr:c1:young"} else None

    async with scheduler_running(
        store=store,
        publisher=RecordingPublisher(),
        settings=settings,
        holder_id="replica-a",
        clock=clock,
        pruner=LedgerPruner(retention=WEEK, lease_ttl=settings.lease_ttl),
    ):
        await wait_until(pruned, timeout_seconds=30, message="the old claim pruned")
        async with store.transaction() as tx:
            lease = await tx.leases.get(PRUNE_LEASE)
        assert lease is not None
        assert lease.holder == "replica-a"
    async with store.transaction() as tx:
        assert await tx.leases.get(PRUNE_LEASE) is None
