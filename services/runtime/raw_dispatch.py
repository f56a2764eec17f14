"""One message of ``raw.<vendor>`` to the vendor service's delivery, poll or reconcile.

Ingest publishes three kinds of event to a vendor's raw topic (``schemas/raw.py``): a
verified webhook delivery, a poll tick and a reconcile tick. Every vendor service reads
them the same way, so the reading is here, with the one policy for a message that cannot
be decoded: it raises :class:`~services.runtime.dead_letters.UndecodableMessageError`
with its cause, and the bus dead-letters it at once to ``dlq.<service>`` (no retry can
decode it; a skip would hide it). That covers the envelope (not JSON, not an event, an
unknown type or version, an event that does not belong on a raw topic) and whatever
vendor errors the service names as "this body has no shape we know" (``undecodable``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from schemas import EventDecodeError, decode_event
from schemas.envelope import Event
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from schemas.upcasting import UpcastingError
from services.runtime.dead_letters import UndecodableMessageError

__all__ = ["RawEvent", "RawHandlers", "UndecodableMessageError", "decode_raw", "dispatch_raw"]

RawEvent = RawDelivery | PollTick | ReconcileTick

# A dead letter keeps the whole message; this is only the reason's length.
_MAX_REASON = 300


class RawHandlers(Protocol):
    """What a vendor service does with each kind of raw event."""

    async def on_delivery(self, delivery: RawDelivery) -> None: ...

    async def on_poll(self, tick: PollTick) -> None: ...

    async def on_reconcile(self, tick: ReconcileTick) -> None: ...


def decode_raw(message: object) -> RawEvent:
    """The raw event in ``message``; UndecodableMessageError (with its cause) when there is none.

    A raw event already decoded (a batch consumer decodes its records) is returned as it is.
    """
    if isinstance(message, RawDelivery | PollTick | ReconcileTick):
        return message
    if isinstance(message, Event):  # decoded already, and of another kind
        msg = f"{message.type} does not belong on a raw topic"
        raise UndecodableMessageError(msg)
    if not isinstance(message, bytes | str | Mapping):
        msg = f"a raw event is a JSON object, not {type(message).__name__}"
        raise UndecodableMessageError(msg)
    try:
        event = decode_event(message)
    except (EventDecodeError, UpcastingError) as error:
        msg = f"not a raw event: {str(error)[:_MAX_REASON]}"
        raise UndecodableMessageError(msg) from error
    if not isinstance(event, RawDelivery | PollTick | ReconcileTick):
        msg = f"{event.type} does not belong on a raw topic"
        raise UndecodableMessageError(msg)
    return event


async def dispatch_raw(
    message: object,
    handlers: RawHandlers,
    *,
    undecodable: tuple[type[Exception], ...] = (),
) -> RawEvent:
    """Decode ``message`` and hand it to ``handlers``; returns the event handled.

    ``undecodable``: the vendor's errors for a body of no known shape; they are
    dead-lettered like an envelope that cannot be read, with the vendor's error as cause.
    """
    event = decode_raw(message)
    try:
        if isinstance(event, RawDelivery):
            await handlers.on_delivery(event)
        elif isinstance(event, PollTick):
            await handlers.on_poll(event)
        else:
            await handlers.on_reconcile(event)
    except undecodable as error:
        msg = f"{event.type} {event.event_id} cannot be decoded: {str(error)[:_MAX_REASON]}"
        raise UndecodableMessageError(msg) from error
    return event
