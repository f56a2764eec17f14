"""Putting events on the bus and reading them back.

:func:`publish` is the one way a service emits an event: it stamps the
envelope (a fresh ``event_id``, ``causation_id``/``correlation_id`` from the
event that caused it, ``recorded_at``), keys the message by
``"{connection_id}:{entity_key}"`` so one record's events stay in order on one
partition, and returns only after Kafka acknowledged the write (the broker
from :mod:`services.runtime.bus` produces with ``acks=all``).

Reading events back is ``schemas.decode_event`` (one registry, upcasting);
:func:`encode_event` is its inverse.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar
from uuid import UUID, uuid4

import orjson
from faststream.kafka import KafkaBroker

from schemas.envelope import Event, utcnow
from services.runtime.producer_renewal import publish_renewing

__all__ = [
    "CONTENT_TYPE",
    "encode_event",
    "publish",
    "stamp",
]

E = TypeVar("E", bound=Event)

CONTENT_TYPE = "application/json"


def stamp(event: E, *, cause: Event | None = None, now: datetime | None = None) -> E:
    """The event with its envelope filled for publishing.

    A fresh ``event_id`` every time, so a handler that runs again after a crash
    publishes a distinguishable event (sinks deduplicate on business keys, not
    on ids). With a ``cause``, ``causation_id`` is the cause's id and
    ``correlation_id`` the cause's correlation (or the cause itself when it
    started the chain). Without one, ids the caller set are kept and an event
    with no correlation starts its own chain.
    """
    event_id = uuid4()
    causation_id: UUID | None
    correlation_id: UUID | None
    if cause is not None:
        causation_id = cause.event_id
        correlation_id = cause.correlation_id or cause.event_id
    else:
        causation_id = event.causation_id
        correlation_id = event.correlation_id or event_id
    return event.model_copy(
        update={
            "event_id": event_id,
            "causation_id": causation_id,
            "correlation_id": correlation_id,
            "recorded_at": now or utcnow(),
        }
    )


def encode_event(event: Event) -> bytes:
    """The event as JSON bytes, the wire format of every topic."""
    return orjson.dumps(event.model_dump(mode="json"))


async def publish(
    broker: KafkaBroker,
    event: E,
    *,
    cause: Event | None = None,
    topic: str | None = None,
) -> E:
    """Stamp ``event`` (see :func:`stamp`), send it and wait for Kafka's acknowledgement.

    The topic is the event class's ``topic_name`` unless ``topic`` is given
    (events such as ``DeadLetter`` or ``RawDelivery`` have a topic per service
    or vendor). A producer the broker fenced off is replaced and the send made again
    (:mod:`services.runtime.producer_renewal`). Returns the event as it was published.
    """
    target = topic or type(event).topic_name
    if not target:
        msg = f"{type(event).__name__} has no topic_name; pass topic="
        raise ValueError(msg)
    stamped = stamp(event, cause=cause)
    body = encode_event(stamped)
    await publish_renewing(
        broker,
        lambda: broker.publish(
            body,
            topic=target,
            key=stamped.key.encode(),
            headers={"content-type": CONTENT_TYPE, "event-type": stamped.type},
            correlation_id=str(stamped.correlation_id),
        ),
    )
    return stamped
