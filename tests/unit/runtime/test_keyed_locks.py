"""KeyedLocks: one lock per key while it is in use, none kept for idle keys."""

from __future__ import annotations

import gc

from services.runtime.keyed_locks import KeyedLocks


async def test_one_key_shares_its_lock_and_an_idle_one_is_forgotten() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    first = locks.of("record:1")

    assert locks.of("record:1") is first
    assert locks.of("record:2") is not first
    async with first:
        assert locks.of("record:1").locked()

    del first
    gc.collect()
    assert len(locks) == 0  # nothing refers to either lock any more
