"""Shared parts of the schedule tests: a hand-moved clock, a recording publisher, a schedule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.ingest.schedules import SchedulerSettings, Tick
from services.runtime.publishing import stamp

START = datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC)
POLL_EVERY_S = 300
SETTINGS = SchedulerSettings(check_interval_seconds=5, lease_seconds=60)
SCHEDULES = {
    "schedules": [
        {"name": "poll", "kind": "poll", "every_seconds": POLL_EVERY_S},
        {"name": "reconcile", "kind": "reconcile", "every_seconds": 3600},
    ]
}


@dataclass
class ManualClock:
    """A clock the test moves by hand; every replica in a test reads the same one."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class RecordingPublisher:
    """Stands in for Kafka: stamps the envelope like runtime.publish and keeps what was sent.

    ``fail_after_ack`` simulates a crash between the acknowledgement and the
    database commit: the tick is recorded (it reached the bus), then it raises.
    ``accept_only=n`` acknowledges n ticks and refuses the rest (Kafka down).
    """

    sent: list[tuple[str, Tick]] = field(default_factory=list)
    fail_after_ack: bool = False
    accept_only: int | None = None
    on_publish: Callable[[], Awaitable[None]] | None = None

    async def __call__(self, tick: Tick, *, topic: str) -> Tick:
        if self.accept_only is not None and len(self.sent) >= self.accept_only:
            msg = "the broker did not acknowledge the tick"
            raise TimeoutError(msg)
        stamped = stamp(tick)
        self.sent.append((topic, stamped))
        if self.on_publish is not None:
            await self.on_publish()
        if self.fail_after_ack:
            msg = "process died after Kafka acknowledged the tick"
            raise ConnectionError(msg)
        return stamped

    def slots(self) -> list[tuple[str, str, str]]:
        return [(tick.connection_id, tick.schedule, tick.due_at) for _, tick in self.sent]
