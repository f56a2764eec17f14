"""One message of ``raw.<vendor>`` to the vendor service's delivery, poll or reconcile.

Ingest publishes three kinds of event to a vendor's raw topic (``schemas/raw.py``): a
verified webhook delivery, a poll tick and a reconcile tick. Every vendor service reads
them the same way, so the reading is here, with the one policy for a message that cannot
be decoded: it raises :class:`~services.runtime.dead_letters.UndecodableMessageError`
with its cause, and the bus dead-letters it at once to ``dlq.<service>`` (no retry can
decode it; a skip would hide it). That covers the envelope (not JSON, not an event, an
unknown type or version, an event that does not belong on a raw topic) and whatever
vendor errors the service names as "this body has no shape we know" (``undecodable``).

A delivery the vendor will not let us read because the connection's consent is gone (a
revoked token, a refused refresh: :class:`~services.runtime.oauth_tokens.OAuthRefusedError`)
has a policy here too, for a service that passes :class:`RefusedReads`: a ``failed``
outcome on each record the delivery would have become, naming the cause, then the error
raised as before (the bus retries, then dead-letters it for a replay once someone
reconnected). Without it the record would only be missing, with nothing on it to say why.
Which records a delivery names is vendor knowledge, so the service says (``record_keys``).
A delivery that names none (it only says "look", or its records are known only from the
read that failed) is only raised: an outcome is always on a record (``Outcomes.publish``
takes an entity key, and a ``SyncOutcome`` has one), so there is nowhere to put it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from schemas import EventDecodeError, decode_event
from schemas.envelope import Event
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from schemas.upcasting import UpcastingError
from services.runtime.dead_letters import UndecodableMessageError
from services.runtime.oauth_tokens import OAuthRefusedError
from services.runtime.outcomes import Outcomes, WriteResult

__all__ = [
    "RawEvent",
    "RawHandlers",
    "RefusedReads",
    "UndecodableMessageError",
    "decode_raw",
    "dispatch_raw",
]

RawEvent = RawDelivery | PollTick | ReconcileTick

# A dead letter keeps the whole message; this is only the reason's length.
_MAX_REASON = 300


class RawHandlers(Protocol):
    """What a vendor service does with each kind of raw event."""

    async def on_delivery(self, delivery: RawDelivery) -> None: ...

    async def on_poll(self, tick: PollTick) -> None: ...

    async def on_reconcile(self, tick: ReconcileTick) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusedReads:
    """How a service marks the records of a delivery its connection's lost consent stops.

    ``vendor`` is the name people know the vendor by (it opens the outcome's detail);
    ``record_keys`` names the entity keys of the events the delivery would have become, as
    the service's published events key them (empty when it names none).
    """

    outcomes: Outcomes
    vendor: str
    record_keys: Callable[[RawDelivery], Sequence[str]]

    async def mark_failed(self, delivery: RawDelivery, refused: OAuthRefusedError) -> None:
        result = WriteResult(
            "failed", "read", detail=f"{self.vendor} did not let us read it: {refused}"
        )
        for key in self.record_keys(delivery):
            await self.outcomes.publish(delivery, None, key, result)


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
    refused: RefusedReads | None = None,
) -> RawEvent:
    """Decode ``message`` and hand it to ``handlers``; returns the event handled.

    ``undecodable``: the vendor's errors for a body of no known shape; they are
    dead-lettered like an envelope that cannot be read, with the vendor's error as cause.
    ``refused``: a delivery's read the lost consent stops is a ``failed`` outcome on each
    record it names, then raised (None: only raised).
    """
    event = decode_raw(message)
    try:
        if isinstance(event, RawDelivery):
            await _deliver(event, handlers, refused)
        elif isinstance(event, PollTick):
            await handlers.on_poll(event)
        else:
            await handlers.on_reconcile(event)
    except undecodable as error:
        msg = f"{event.type} {event.event_id} cannot be decoded: {str(error)[:_MAX_REASON]}"
        raise UndecodableMessageError(msg) from error
    return event


async def _deliver(
    delivery: RawDelivery, handlers: RawHandlers, refused: RefusedReads | None
) -> None:
    try:
        await handlers.on_delivery(delivery)
    except OAuthRefusedError as error:
        if refused is not None:
            await refused.mark_failed(delivery, error)
        raise
