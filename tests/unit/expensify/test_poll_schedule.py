"""A link's poll schedule: every N seconds, or daily at a wall-clock time in its zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.expensify.schedule import LinkScheduleError, PollSchedule


def test_an_interval_is_due_once_it_has_passed_less_the_ticks_slack() -> None:
    schedule = PollSchedule.of({"poll_every_seconds": 900}, default_every_seconds=300)
    last = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    assert schedule.is_due(None, last), "never polled: due at once"
    assert not schedule.is_due(last, last + timedelta(minutes=14))
    assert schedule.is_due(last, last + timedelta(minutes=14, seconds=31))
    default = PollSchedule.of({}, default_every_seconds=300)
    assert default.every == timedelta(seconds=300)


def test_a_daily_time_follows_the_zone_across_daylight_saving() -> None:
    schedule = PollSchedule.of(
        {"poll_daily_at": "18:30", "time_zone": "America/Chicago"}, default_every_seconds=300
    )
    # 18:30 in Chicago is 00:30 UTC the next day in November (CST, UTC-6), 23:30 UTC the same
    # day in July (CDT, UTC-5).
    winter = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 20, 23, 30, tzinfo=UTC)
    assert schedule.latest_slot(winter) == winter
    assert schedule.latest_slot(summer) == summer
    polled = winter - timedelta(minutes=1)
    assert schedule.is_due(polled, winter)
    assert not schedule.is_due(winter, winter + timedelta(hours=23))
    assert schedule.is_due(winter, winter + timedelta(days=1))


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"poll_every_seconds": 30}, "at least 60"),
        ({"poll_every_seconds": "900"}, "whole number"),
        ({"poll_daily_at": "6pm", "time_zone": "UTC"}, '"HH:MM"'),
        ({"poll_daily_at": "18:00"}, "needs time_zone"),
        ({"poll_daily_at": "18:00", "time_zone": "Mars/Olympus"}, "not an IANA"),
        ({"poll_daily_at": "18:00", "time_zone": "UTC", "poll_every_seconds": 60}, "not both"),
    ],
)
def test_bad_options_say_what_to_set(options: dict[str, object], says: str) -> None:
    with pytest.raises(LinkScheduleError, match=says):
        PollSchedule.of(options, default_every_seconds=300)
