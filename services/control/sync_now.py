"""``mlc connections sync <id>``: a reconciliation of one connection, now.

The operator (or the demo, to start a backfill) asks for it; a ``ReconcileTick`` with the
schedule name ``manual`` and ``due_at`` = now is published to ``raw.<vendor>`` exactly as the
scheduler would publish a due one, so the vendor service needs nothing new. It is answered
only after Kafka acknowledged the tick, and audited (``connection.sync_requested``, actor
``operator``). A connection still waiting for consent is refused: it has nothing to read with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from schemas.envelope import utcnow
from schemas.raw import ReconcileTick
from schemas.topics import raw_topic
from services.control.connections import ACTOR, ConnectionConflictError, ConnectionNotFoundError
from services.runtime.store import StateStore
from services.runtime.ticks import ACTIVE_STATUS, TickPublisher, tick_entity_key

__all__ = ["LINK_SCHEDULE", "MANUAL_SCHEDULE", "request_sync"]

MANUAL_SCHEDULE: Final = "manual"
"""The ``schedule`` of an operator's tick (the scheduler's are named by the connection)."""
LINK_SCHEDULE: Final = "link-added"
"""The ``schedule`` of the full resend a new link asks of its source connection."""


async def request_sync(
    store: StateStore,
    publish_tick: TickPublisher,
    connection_id: str,
    *,
    full: bool = False,
    schedule: str = MANUAL_SCHEDULE,
    clock: Callable[[], datetime] = utcnow,
) -> ReconcileTick:
    """Publish a reconciliation tick for the connection and audit it; returns the tick sent.

    ``full`` asks the source to publish every record, not only those that changed since
    it last published: a link created after a backfill would otherwise never see them.
    """
    async with store.transaction() as tx:
        connection = await tx.connections.get(connection_id)
    if connection is None:
        raise ConnectionNotFoundError(f"no connection {connection_id!r}")
    if connection.status != ACTIVE_STATUS:
        msg = f"connection {connection_id} is {connection.status}, not active: nothing to sync yet"
        raise ConnectionConflictError(msg)
    now = clock()
    tick = ReconcileTick(
        connection_id=connection.id,
        tenant_id=connection.tenant_id,
        occurred_at=now,
        entity_key=tick_entity_key(schedule),
        vendor=connection.vendor,
        schedule=schedule,
        due_at=now.isoformat(),
        full=full,
    )
    topic = raw_topic(connection.vendor)
    sent = await publish_tick(tick, topic=topic)
    if not isinstance(sent, ReconcileTick):  # the publisher hands back what it was given
        raise TypeError(type(sent).__name__)
    async with store.transaction() as tx:
        await tx.audit_log.append(
            actor=ACTOR,
            action="connection.sync_requested",
            subject=connection.id,
            detail={
                "vendor": connection.vendor,
                "topic": topic,
                "event_id": str(sent.event_id),
                "schedule": schedule,
                "full": full,
            },
        )
    return sent
