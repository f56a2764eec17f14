"""Kept reads: one read serves the next records until it is old, forgotten or asked fresh."""

from __future__ import annotations

from services.runtime.kept_reads import KeptReads


class CountingLoad:
    def __init__(self) -> None:
        self.reads = 0

    async def __call__(self) -> list[str]:
        self.reads += 1
        return [f"read {self.reads}"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_read_is_kept_for_its_time_per_key_then_read_again() -> None:
    clock, load = FakeClock(), CountingLoad()
    reads: KeptReads[list[str]] = KeptReads(keep_seconds=300, clock=clock)

    first = await reads.read("c1", load)
    clock.now += 299
    kept = await reads.read("c1", load)
    other = await reads.read("c2", load)
    clock.now += 1
    old = await reads.read("c1", load)

    assert (first.kept, kept.kept, other.kept, old.kept) == (False, True, False, False)
    assert kept.value == first.value == ["read 1"]
    assert old.value == ["read 3"]
    assert load.reads == 3


async def test_fresh_and_forget_read_again_and_zero_keeps_nothing() -> None:
    load = CountingLoad()
    reads: KeptReads[list[str]] = KeptReads(keep_seconds=300, clock=FakeClock())
    await reads.read("c1", load)
    assert (await reads.read("c1", load, fresh=True)).kept is False
    reads.forget("c1")
    assert (await reads.read("c1", load)).kept is False
    assert load.reads == 3

    never: KeptReads[list[str]] = KeptReads(keep_seconds=0, clock=FakeClock())
    await never.read("c1", load)
    assert (await never.read("c1", load)).kept is False
