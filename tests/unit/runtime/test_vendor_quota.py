"""The vendor quota rows: newest observation kept, unreadable rows are no figure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.runtime.store import StateStore
from services.runtime.vendor_quota import QUOTA_SERVICE, VendorQuota, read_quota, record_quota

NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
RESET = NOON + timedelta(hours=14)


def quota(remaining: int, observed_at: datetime) -> VendorQuota:
    return VendorQuota(limit=1000, remaining=remaining, resets_at=RESET, observed_at=observed_at)


async def _connection(store: StateStore, name: str) -> str:
    async with store.transaction() as tx:
        made = await tx.connections.create(vendor="zoho", tenant_id="t", display_name=name)
    return made.id


async def test_the_newest_observation_is_kept_and_an_older_one_never_overwrites_it(
    store: StateStore,
) -> None:
    one, two = await _connection(store, "one"), await _connection(store, "two")
    async with store.transaction() as tx:
        assert await read_quota(tx, one) is None
        await record_quota(tx, one, quota(705, NOON))
        await record_quota(tx, one, quota(900, NOON - timedelta(seconds=1)))
        kept = await read_quota(tx, one)
        await record_quota(tx, one, quota(704, NOON + timedelta(seconds=1)))
        newer = await read_quota(tx, one)
        other = await read_quota(tx, two)

    assert kept == quota(705, NOON)
    assert newer == quota(704, NOON + timedelta(seconds=1))
    assert other is None


async def test_a_row_that_cannot_be_read_is_no_figure(store: StateStore) -> None:
    one = await _connection(store, "one")
    async with store.transaction() as tx:
        await tx.watermarks.set(QUOTA_SERVICE, one, "daily", '{"limit": "many"}')
        assert await read_quota(tx, one) is None


def test_spent_means_at_or_below_the_reserve_before_the_reset() -> None:
    assert quota(5, NOON).spent(reserve=5, now=NOON)
    assert not quota(6, NOON).spent(reserve=5, now=NOON)
    assert not quota(0, NOON).spent(reserve=5, now=RESET)
    assert quota(0, NOON).used == 1000
