"""Poll and reconcile ticks as the scheduler and an operator's sync request both publish them.

The edge's scheduler (``services/ingest/schedules.py``) publishes due ticks, the control
plane (``services/control/sync_now.py``) an operator's; a vendor service cannot tell them
apart but by their ``schedule``. What they share is here, below both.
"""

from __future__ import annotations

from typing import Protocol

from faststream.kafka import KafkaBroker

from schemas.raw import PollTick, ReconcileTick
from services.runtime.publishing import publish

__all__ = ["ACTIVE_STATUS", "Tick", "TickPublisher", "kafka_tick_publisher", "tick_entity_key"]

ACTIVE_STATUS = "active"
"""Only connections in this status are scheduled (a paused or broken one is not polled)."""

Tick = PollTick | ReconcileTick


class TickPublisher(Protocol):
    """Puts a tick on ``topic`` and returns once the bus acknowledged it."""

    async def __call__(self, tick: Tick, *, topic: str) -> Tick: ...


def tick_entity_key(schedule_name: str) -> str:
    """The entity key of a schedule's ticks: one schedule's ticks stay in order."""
    return f"tick:{schedule_name}"


def kafka_tick_publisher(broker: KafkaBroker) -> TickPublisher:
    """Publish ticks through the runtime's :func:`publish` (envelope, key, acks=all)."""

    async def publish_tick(tick: Tick, *, topic: str) -> Tick:
        return await publish(broker, tick, topic=topic)

    return publish_tick
