"""Link replays in the store (``services/runtime/store/replays.py``), on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.runtime.store import PartRange, PlannedWrite, StateStore

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
HOLD = timedelta(seconds=30)


async def _replay(store: StateStore) -> str:
    async with store.transaction() as repos:
        source = await repos.connections.create(vendor="bamboohr", tenant_id="t", display_name="H")
        target = await repos.connections.create(vendor="zoho", tenant_id="t", display_name="B")
        link = await repos.links.create(
            source_connection_id=source.id, target_connection_id=target.id, flow="people-zoho"
        )
        replay = await repos.replays.create(
            link_id=link.id,
            requested_by="ops",
            since="beginning",
            until=None,
            entity=None,
            dry_run=True,
            parts=[
                PartRange("zoho", "people.employee", {0: 0}, {0: 5}, position=1),
                PartRange("zoho", "people.department", {0: 2, 1: 0}, {0: 4, 1: 1}, position=0),
                PartRange("bamboohr", "people.department", {0: 0}, {0: 0}, position=0),
            ],
            now=T0,
        )
    return replay.id


async def test_parts_are_claimed_in_order_one_holder_at_a_time_and_taken_over_when_quiet(
    store: StateStore,
) -> None:
    await _replay(store)
    async with store.transaction() as repos:
        first = await repos.replays.claim("zoho", "a", ttl=HOLD, now=T0)
        second = await repos.replays.claim("zoho", "b", ttl=HOLD, now=T0)
        none_left = await repos.replays.claim("zoho", "c", ttl=HOLD, now=T0)
    assert first is not None
    assert second is not None
    assert (first.topic, first.start_offsets, first.end_offsets) == (
        "people.department",
        {"0": 2, "1": 0},
        {"0": 4, "1": 1},
    )
    assert second.topic == "people.employee"
    assert none_left is None

    async with store.transaction() as repos:
        kept = await repos.replays.progress(
            first, "a", ttl=HOLD, total=3, done=1, counts={"applied": 1}, now=T0
        )
        # "a" goes quiet: after its hold another replica takes the part over.
        later = T0 + HOLD + timedelta(seconds=1)
        taken = await repos.replays.claim("zoho", "c", ttl=HOLD, now=later)
        lost = await repos.replays.progress(
            first, "a", ttl=HOLD, total=3, done=2, counts={"applied": 2}, now=later
        )
    assert kept
    assert taken is not None
    assert (taken.topic, taken.holder) == ("people.department", "c")
    assert not lost, "the quiet replica must learn it lost the part"


async def test_the_replay_finishes_with_its_last_part_and_keeps_its_plan(
    store: StateStore,
) -> None:
    replay_id = await _replay(store)
    finished = []
    async with store.transaction() as repos:
        for service in ("zoho", "zoho", "bamboohr"):
            part = await repos.replays.claim(service, service, ttl=HOLD, now=T0)
            assert part is not None
            await repos.replays.plan_rows(
                [
                    PlannedWrite(
                        replay_id, service, part.topic, "c1:e1", "applied", "create", "x", "", {}
                    )
                ]
            )
            finished.append(
                await repos.replays.finish(
                    part, service, state="finished", total=1, done=1, counts={"applied": 1}
                )
            )
        parts = await repos.replays.parts(replay_id)
        plan = await repos.replays.plan(replay_id)
        replay = await repos.replays.get(replay_id)
    assert finished[:2] == [None, None]
    assert finished[2] is not None
    assert finished[2].state == "finished"
    assert replay is not None
    assert replay.state == "finished"
    assert [p.state for p in parts] == ["finished"] * 3
    assert len(plan) == 3
