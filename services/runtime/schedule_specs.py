"""The schedule a connection stores in its settings, and the slots it falls due at.

A connection's settings JSON may hold::

    {"schedules": [
        {"name": "poll", "kind": "poll", "every_seconds": 300},
        {"name": "reconcile", "kind": "reconcile", "every_seconds": 86400,
         "offset_seconds": 7200}
    ]}

Slots are anchored at the Unix epoch (UTC): a schedule is due at
``epoch + offset_seconds + k * every_seconds`` for every whole ``k``. Every
replica therefore computes the same ``due_at`` from the same settings with no
coordination, and a slot is a fact that does not depend on when a process
started. ``offset_seconds`` moves the slots within the period (a daily
reconciliation at 02:00 UTC is ``every_seconds: 86400, offset_seconds: 7200``).

The scheduler only reads what is stored: choosing a vendor's default schedule
is the vendor service's business when the connection is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "EPOCH",
    "MAX_EVERY_SECONDS",
    "SCHEDULES_KEY",
    "ConnectionSchedules",
    "Schedule",
    "ScheduleKind",
    "ScheduleSpecError",
    "latest_due_slot",
    "schedules_of",
    "slots_between",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Where every schedule's slots are counted from, so replicas agree on ``due_at``."""

SCHEDULES_KEY = "schedules"
"""The key of the connection settings JSON that holds the schedule list."""

MAX_EVERY_SECONDS = 366 * 24 * 3600
"""The longest period accepted: a schedule rarer than yearly is a mistake, not a plan."""

ScheduleKind = Literal["poll", "reconcile"]
"""``poll`` publishes PollTick, ``reconcile`` publishes ReconcileTick."""


class ScheduleSpecError(ValueError):
    """A connection's stored schedule is not valid; the message says what to fix."""


class Schedule(BaseModel):
    """One named, periodic tick of a connection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The name goes into the Kafka key ("tick:<name>") and the watermark name
    # ("schedule:<name>", at most 128 characters), so it is short and plain.
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: ScheduleKind
    every_seconds: int = Field(ge=1, le=MAX_EVERY_SECONDS)
    offset_seconds: int = Field(default=0, ge=0)
    enabled: bool = True

    @model_validator(mode="after")
    def _offset_within_period(self) -> Self:
        if self.offset_seconds >= self.every_seconds:
            msg = (
                f"offset_seconds ({self.offset_seconds}) must be smaller than "
                f"every_seconds ({self.every_seconds})"
            )
            raise ValueError(msg)
        return self

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.every_seconds)

    @property
    def anchor(self) -> datetime:
        return EPOCH + timedelta(seconds=self.offset_seconds)


class ConnectionSchedules(BaseModel):
    """The ``schedules`` list of a connection's settings; names are unique."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedules: tuple[Schedule, ...] = ()

    @model_validator(mode="after")
    def _names_are_unique(self) -> Self:
        seen: set[str] = set()
        for schedule in self.schedules:
            if schedule.name in seen:
                msg = f"two schedules are named {schedule.name!r}; names must be unique"
                raise ValueError(msg)
            seen.add(schedule.name)
        return self

    @property
    def enabled(self) -> tuple[Schedule, ...]:
        return tuple(schedule for schedule in self.schedules if schedule.enabled)


def schedules_of(settings: Mapping[str, object]) -> ConnectionSchedules:
    """The schedules stored in a connection's settings (none when the key is absent).

    Other keys of the settings belong to other parts of the service and are
    left alone. Raises :class:`ScheduleSpecError` naming every problem.
    """
    try:
        return ConnectionSchedules.model_validate(
            {SCHEDULES_KEY: settings.get(SCHEDULES_KEY) or ()}
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or SCHEDULES_KEY}: {error['msg']}"
            for error in exc.errors()
        )
        raise ScheduleSpecError(f"invalid schedule settings: {problems}") from None


def latest_due_slot(schedule: Schedule, now: datetime) -> datetime:
    """The last slot of ``schedule`` at or before ``now`` (``now`` must be timezone-aware)."""
    if now.tzinfo is None:
        msg = "now must be timezone-aware"
        raise ValueError(msg)
    periods = (now - schedule.anchor) // schedule.period
    return (schedule.anchor + periods * schedule.period).astimezone(UTC)


def slots_between(schedule: Schedule, after: datetime, until: datetime) -> int:
    """How many slots fall in ``(after, until]``: the ticks owed since ``after`` was fired."""
    if until <= after:
        return 0
    return (until - schedule.anchor) // schedule.period - (after - schedule.anchor) // (
        schedule.period
    )
