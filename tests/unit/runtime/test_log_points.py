"""The points of the log a person names for a replay (``services/runtime/log_range.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.runtime.log_range import LogPoint, PointError, parse_point

NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("beginning", LogPoint("beginning")),
        (" Earliest ", LogPoint("beginning")),
        ("end", LogPoint("end")),
        ("now", LogPoint("end")),
        ("90m", LogPoint("time", at=NOW - timedelta(minutes=90))),
        ("2h", LogPoint("time", at=NOW - timedelta(hours=2))),
        ("3d", LogPoint("time", at=NOW - timedelta(days=3))),
        ("45s", LogPoint("time", at=NOW - timedelta(seconds=45))),
        ("2026-12-05T09:00Z", LogPoint("time", at=datetime(2026, 12, 5, 9, tzinfo=UTC))),
        ("2026-12-05T10:00+01:00", LogPoint("time", at=datetime(2026, 12, 5, 9, tzinfo=UTC))),
        ("offset:120", LogPoint("offsets", offsets={-1: 120})),
        ("offset:0=120,1=98", LogPoint("offsets", offsets={0: 120, 1: 98})),
    ],
)
def test_a_point_is_read_as_written(text: str, expected: LogPoint) -> None:
    assert parse_point(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("yesterday", "not a point of the log"),
        ("", "not a point of the log"),
        ("2h30", "not a point of the log"),
        ("offset:-1", "not a point of the log"),
        ("offset:0=1,x=2", "not a point of the log"),
        ("2026-12-05T09:00", "no time zone"),
    ],
)
def test_a_point_that_means_nothing_is_refused_with_what_would(text: str, says: str) -> None:
    with pytest.raises(PointError, match=says):
        parse_point(text, now=NOW)
