"""The stored schedule model and the slot arithmetic every replica agrees on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.schedule_specs import (
    EPOCH,
    Schedule,
    ScheduleSpecError,
    latest_due_slot,
    schedules_of,
    slots_between,
)

POLL = Schedule(name="poll", kind="poll", every_seconds=300)


def test_slots_are_counted_from_the_epoch_so_any_process_computes_the_same_due_at() -> None:
    now = datetime(2026, 11, 23, 1, 47, 12, 345, tzinfo=UTC)

    assert latest_due_slot(POLL, now) == datetime(2026, 11, 23, 1, 45, tzinfo=UTC)


def test_a_slot_is_due_at_its_exact_instant() -> None:
    slot = datetime(2026, 11, 23, 1, 50, tzinfo=UTC)

    assert latest_due_slot(POLL, slot) == slot
    assert latest_due_slot(POLL, slot - timedelta(microseconds=1)) == slot - POLL.period


def test_offset_moves_a_daily_reconciliation_to_two_in_the_morning() -> None:
    nightly = Schedule(name="nightly", kind="reconcile", every_seconds=86400, offset_seconds=7200)

    assert latest_due_slot(nightly, datetime(2026, 11, 23, 1, 0, tzinfo=UTC)) == datetime(
        2026, 11, 22, 2, 0, tzinfo=UTC
    )
    assert latest_due_slot(nightly, datetime(2026, 11, 23, 2, 0, tzinfo=UTC)) == datetime(
        2026, 11, 23, 2, 0, tzinfo=UTC
    )


def test_a_time_in_another_zone_gives_the_same_slot_in_utc() -> None:
    plus_two = datetime(2026, 11, 23, 3, 47, tzinfo=UTC).astimezone(
        datetime.fromisoformat("2026-01-01T00:00:00+02:00").tzinfo
    )

    slot = latest_due_slot(POLL, plus_two)

    assert slot == datetime(2026, 11, 23, 3, 45, tzinfo=UTC)
    assert slot.utcoffset() == timedelta(0)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        latest_due_slot(POLL, datetime(2026, 11, 23, 1, 0))


@given(
    every=st.integers(min_value=1, max_value=86400 * 7),
    offset_fraction=st.floats(min_value=0, max_value=0.999),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_the_latest_slot_is_aligned_not_after_now_and_less_than_a_period_before(
    every: int, offset_fraction: float, now: datetime
) -> None:
    schedule = Schedule(
        name="s", kind="poll", every_seconds=every, offset_seconds=int(every * offset_fraction)
    )

    slot = latest_due_slot(schedule, now)

    assert slot <= now < slot + schedule.period
    assert (slot - EPOCH - timedelta(seconds=schedule.offset_seconds)) % schedule.period == (
        timedelta(0)
    )


def test_slots_between_counts_the_slots_owed_since_the_last_fired_one() -> None:
    fired = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    assert slots_between(POLL, fired, fired) == 0
    assert slots_between(POLL, fired, fired + timedelta(seconds=299)) == 0
    assert slots_between(POLL, fired, fired + timedelta(seconds=300)) == 1
    assert slots_between(POLL, fired, fired + timedelta(hours=1)) == 12
    assert slots_between(POLL, fired, fired - timedelta(hours=1)) == 0


def test_the_stored_settings_are_read_from_the_schedules_key_only() -> None:
    settings = {
        "region": "eu",
        "schedules": [
            {"name": "poll", "kind": "poll", "every_seconds": 300},
            {"name": "reconcile", "kind": "reconcile", "every_seconds": 86400, "enabled": False},
        ],
    }

    schedules = schedules_of(settings)

    assert [s.name for s in schedules.schedules] == ["poll", "reconcile"]
    assert [s.name for s in schedules.enabled] == ["poll"]


@pytest.mark.parametrize("settings", [{}, {"schedules": None}, {"schedules": []}])
def test_a_connection_without_schedules_has_none(settings: dict[str, object]) -> None:
    assert schedules_of(settings).schedules == ()


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"name": "poll", "kind": "poll"}, "schedules.0.every_seconds: Field required"),
        ({"name": "poll", "kind": "sync", "every_seconds": 60}, "schedules.0.kind"),
        ({"name": "poll", "kind": "poll", "every_seconds": 0}, "greater than or equal to 1"),
        ({"name": "Poll Hourly", "kind": "poll", "every_seconds": 60}, "schedules.0.name"),
        ({"name": "poll", "kind": "poll", "every_seconds": 60, "cron": "*"}, "schedules.0.cron"),
        (
            {"name": "poll", "kind": "poll", "every_seconds": 60, "offset_seconds": 60},
            "offset_seconds (60) must be smaller than every_seconds (60)",
        ),
    ],
)
def test_an_invalid_schedule_is_refused_with_where_and_why(
    entry: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ScheduleSpecError, match="invalid schedule settings") as raised:
        schedules_of({"schedules": [entry]})

    assert complaint in str(raised.value)


def test_two_schedules_with_one_name_are_refused_naming_it() -> None:
    entry = {"name": "poll", "kind": "poll", "every_seconds": 60}

    with pytest.raises(ScheduleSpecError, match="two schedules are named 'poll'"):
        schedules_of({"schedules": [entry, entry]})


def test_a_schedules_value_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(ScheduleSpecError, match="schedules"):
        schedules_of({"schedules": "every five minutes"})
