"""A consumer's records taken from Kafka in batches and handled key by key, at once.

One message at a time per partition, committed after each, costs every message a round
trip to the broker for the commit and another for its outcome: a replay that finds
everything applied drained at a few hundred events a second, and a burst of changes
queued behind each other's vendor calls (issue 17). A sink's subscriber, and the BambooHR
source's (:func:`services.runtime.bus.record_subscriber`), therefore takes what the poll
has, up to ``MLC_CONSUMER_BATCH`` records, and:

- splits them by Kafka key (``connection:record``): one record's events stay in their log
  order, one after the other; different records are handled at the same time, up to
  ``MLC_CONSUMER_LANES`` of them;
- settles each record as :class:`~services.runtime.dead_letters.DeadLetterMiddleware`
  settles a single message: retried in place with backoff, waited on through an outage
  or a vendor's throttling, dead-lettered after the last attempt (at once when it cannot
  be decoded), so one bad record never holds the others' commit for good;
- first lets the sink answer, in a few reads for the whole batch, the events it has already
  applied (``screen``: :mod:`services.runtime.applied_screen`), so a replay costs a read per
  batch, not several per event;
- commits the batch's offsets once, when every record of it is settled. A crash before
  that delivers the whole batch again: the sinks' idempotent upsert answers what was
  done ``unchanged`` (a source publishes only what differs from its last), so nothing is
  lost and nothing is written twice.

Each record runs in a span of its own, continued from the trace context in its headers,
so a hire's trace still runs into the vendor calls made for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Generic, TypeAlias, TypeVar

from aiokafka import ConsumerRecord

from schemas import EventDecodeError, UpcastingError, decode_event
from schemas.envelope import Event
from services.runtime.dead_letters import DeadLetterMiddleware, UndecodableMessageError
from services.runtime.logging import get_logger
from services.runtime.tracing import consume_span

__all__ = ["BatchScreen", "KeyedBatches"]

_log = get_logger(__name__)

E = TypeVar("E", bound=Event)
BatchScreen: TypeAlias = Callable[[Sequence[E]], Awaitable[Collection[int]]]
"""A sink's look at a whole batch first: the positions of the events it has answered
(published their outcomes), which need no handling one by one."""
_Decoded: TypeAlias = E | UndecodableMessageError
"""A record's event, or why it has none (its lane dead-letters it)."""


class KeyedBatches(Generic[E]):
    """Handles batches of ``event_type`` records with ``handle``, one record at a time per
    key and up to ``lanes`` keys at once (see the module's docstring)."""

    def __init__(
        self,
        handle: Callable[[E], Awaitable[None]],
        event_type: type[E],
        *,
        lanes: int,
        screen: BatchScreen[E] | None = None,
    ) -> None:
        self._handle = handle
        self._event_type = event_type
        self._lanes = asyncio.Semaphore(lanes)
        self._screen = screen

    async def handle_batch(
        self, records: Sequence[ConsumerRecord], dead_letters: DeadLetterMiddleware
    ) -> None:
        """Settle every record of the batch; returns when all are (then it is committed)."""
        # Each record decoded once, for the screen and for its lane alike.
        decoded = [self._decoded(record) for record in records]
        answered = await self._screened(decoded)
        by_key: dict[bytes | None, list[tuple[ConsumerRecord, _Decoded[E]]]] = {}
        for position, record in enumerate(records):  # a partition's come in offset order
            if position in answered:
                dead_letters.handled(record)
            else:
                by_key.setdefault(record.key, []).append((record, decoded[position]))
        async with asyncio.TaskGroup() as lanes:
            for same_key in by_key.values():
                lanes.create_task(self._lane(same_key, dead_letters))

    async def _screened(self, decoded: Sequence[_Decoded[E]]) -> set[int]:
        """The positions of the batch's records the screen answered."""
        if self._screen is None:
            return set()
        positions = [i for i, one in enumerate(decoded) if not isinstance(one, Exception)]
        events = [one for one in decoded if not isinstance(one, Exception)]
        try:
            answered = await self._screen(events)
        except Exception as error:  # the store is down, say: each record goes its own way
            _log.warning("batch.screen_failed", error=f"{type(error).__name__}: {error}")
            return set()
        return {positions[index] for index in answered}

    async def _lane(
        self,
        records: list[tuple[ConsumerRecord, _Decoded[E]]],
        dead_letters: DeadLetterMiddleware,
    ) -> None:
        async with self._lanes:
            for record, decoded in records:
                await self._settle(record, decoded, dead_letters)

    async def _settle(
        self, record: ConsumerRecord, decoded: _Decoded[E], dead_letters: DeadLetterMiddleware
    ) -> None:
        """Handle ``record`` until it is handled or dead-lettered (at once: undecodable)."""
        while True:
            try:
                if isinstance(decoded, UndecodableMessageError):
                    raise decoded
                with consume_span(record, correlation_id=decoded.correlation_id):
                    await self._handle(decoded)
            except Exception as error:  # every failure is settled: retried or dead-lettered
                if await dead_letters.failed(record, error):
                    return
            else:
                dead_letters.handled(record)
                return

    def _decoded(self, record: ConsumerRecord) -> E | UndecodableMessageError:
        try:
            return self._decode(record)
        except UndecodableMessageError as error:
            return error

    def _decode(self, record: ConsumerRecord) -> E:
        try:
            event = decode_event(record.value or b"")
        except (EventDecodeError, UpcastingError) as error:
            msg = f"not a {self._event_type.__name__} event: {error}"
            raise UndecodableMessageError(msg) from error
        if not isinstance(event, self._event_type):
            msg = (
                f"a {type(event).__name__} event on {record.topic}, where "
                f"{self._event_type.__name__} events are expected"
            )
            raise UndecodableMessageError(msg)
        return event
