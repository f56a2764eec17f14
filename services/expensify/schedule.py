"""When an expenses link is polled: the link's own schedule, checked at every minute's tick.

Expensify sends nothing (sheet 11), so "after approval" means the next poll. A link's
options choose one of:

- ``{"poll_every_seconds": 900}``: every 15 minutes (at least 60; default
  ``MLC_EXPENSIFY_POLL_EVERY_SECONDS``);
- ``{"poll_daily_at": "18:30", "time_zone": "America/Chicago"}``: once a day at that
  wall-clock time in the customer's zone, daylight saving included (the slot is computed
  in the zone every day, never as a fixed UTC offset).

The edge's scheduler ticks each Expensify connection every minute (``plugin.py``); the
source polls the links whose schedule is due and remembers when it did. A link never
polled is due at once: a new link reads the approvals of the last
``MLC_EXPENSIFY_FIRST_POLL_DAYS`` days straight away.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DAILY_AT", "EVERY", "TIME_ZONE", "LinkScheduleError", "PollSchedule"]

EVERY: Final = "poll_every_seconds"
DAILY_AT: Final = "poll_daily_at"
TIME_ZONE: Final = "time_zone"
MIN_EVERY_SECONDS: Final = 60
# Ticks come every minute, not at the second: a little early is on time.
_SLACK: Final = timedelta(seconds=30)
_CLOCK: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class LinkScheduleError(ValueError):
    """The link's schedule options are not valid; the message says what to set."""


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """Every ``every``, or daily at ``at`` in ``zone``."""

    every: timedelta | None = None
    at: time | None = None
    zone: ZoneInfo | None = None

    @classmethod
    def of(cls, options: Mapping[str, Any], *, default_every_seconds: int) -> PollSchedule:
        daily, every = options.get(DAILY_AT), options.get(EVERY)
        if daily is not None and every is not None:
            msg = f"set {EVERY} or {DAILY_AT}, not both"
            raise LinkScheduleError(msg)
        if daily is None:
            seconds = default_every_seconds if every is None else every
            if not isinstance(seconds, int) or isinstance(seconds, bool):
                msg = f"{EVERY} must be a whole number of seconds, not {seconds!r}"
                raise LinkScheduleError(msg)
            if seconds < MIN_EVERY_SECONDS:
                msg = f"{EVERY} must be at least {MIN_EVERY_SECONDS}, not {seconds}"
                raise LinkScheduleError(msg)
            return cls(every=timedelta(seconds=seconds))
        match = _CLOCK.match(daily) if isinstance(daily, str) else None
        if match is None:
            msg = f'{DAILY_AT} must be a 24-hour "HH:MM", not {daily!r}'
            raise LinkScheduleError(msg)
        zone_name = options.get(TIME_ZONE)
        if not isinstance(zone_name, str) or not zone_name:
            msg = f'{DAILY_AT} needs {TIME_ZONE}, an IANA zone such as "America/Chicago"'
            raise LinkScheduleError(msg)
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"{TIME_ZONE} {zone_name!r} is not an IANA time zone"
            raise LinkScheduleError(msg) from None
        return cls(at=time(int(match[1]), int(match[2])), zone=zone)

    def latest_slot(self, now: datetime) -> datetime | None:
        """The daily slot at or before ``now`` (None for an interval schedule)."""
        if self.at is None or self.zone is None:
            return None
        local = now.astimezone(self.zone)
        slot = datetime.combine(local.date(), self.at, tzinfo=self.zone)
        if slot > local:
            slot = datetime.combine(local.date() - timedelta(days=1), self.at, tzinfo=self.zone)
        return slot

    def is_due(self, last_polled: datetime | None, now: datetime) -> bool:
        if last_polled is None:
            return True
        if self.every is not None:
            return now - last_polled >= self.every - _SLACK
        slot = self.latest_slot(now)
        return slot is not None and last_polled < slot
