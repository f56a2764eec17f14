"""Retries in place, then ``dlq.<service>``: what happens to a message whose handler fails.

The broker from :mod:`services.runtime.bus` consumes with
``AckPolicy.NACK_ON_ERROR``: a handler that raises makes the consumer seek back
to the failed offset, so the same message is delivered again before anything
after it on that partition (per-key order holds). This middleware sits inside
that policy and decides how long the loop goes on:

- each failure of a record, keyed by (topic, partition, offset), is counted in
  this process; below ``HandlerRetryPolicy.max_attempts`` it waits a backoff with
  jitter and lets the error through, so the message is redelivered;
- at ``max_attempts`` it publishes a :class:`~schemas.outcomes.DeadLetter`
  (original bytes, topic/partition/offset/key, attempts, error) to the
  service's dead-letter topic, waits for the ack, and swallows the error, so
  the message is committed and the partition moves on;
- a message that fails because the state store or Kafka is down
  (:func:`services.runtime.outages.is_outage`) is not at fault: it waits in place,
  redelivered with a backoff up to ``HandlerRetryPolicy.max_outage_backoff_s``, for as
  long as the outage lasts, and is never dead-lettered for it (every message behind it
  would be next); so does a message a vendor refused for our request rate
  (:class:`~services.runtime.outages.VendorThrottledError`, a 429): it waits for the
  vendor's window to turn;
- a message that can never be handled, whatever the retries (it cannot be decoded: not
  an event, an unknown type or version, a vendor body of no known shape), says so by
  raising :class:`UndecodableMessageError`: it is dead-lettered at once, with its cause,
  and committed. It is never skipped in silence, and never retried in vain.

Why the count lives in memory: a Kafka record cannot be rewritten to carry its
attempt count, and a store round trip per failure would couple the bus to the
state store. Redelivery after a nack happens in the same process, so the count
is exact there. After a crash or a rebalance the new owner starts counting
from one again: a message is never dead-lettered early, at worst it is tried
``max_attempts`` times per consumer that gets it. A record that kills the
process itself (not an exception) is therefore retried by each restart; that
is visible as a crash loop, not as silent loss.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections import OrderedDict
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeAlias
from uuid import UUID

import orjson
import structlog
from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from faststream.exceptions import HandlerException
from faststream.kafka import ConsumerRecord, KafkaBroker, KafkaPublishCommand

from schemas.envelope import utcnow
from schemas.outcomes import DeadLetter
from services.runtime.metrics import DEAD_LETTERS
from services.runtime.outages import is_outage, is_throttled
from services.runtime.publishing import publish

__all__ = [
    "AttemptLedger",
    "DeadLetterMiddleware",
    "HandlerRetryPolicy",
    "UndecodableMessageError",
    "dead_letter_for",
    "dead_letters_of",
]

log = structlog.get_logger(__name__)

# A dead letter keeps this much of the error text; tracebacks stay in the logs.
_MAX_ERROR_CHARS = 4000
# Records whose attempts are remembered at once; the oldest are forgotten first.
_LEDGER_SIZE = 10_000

RecordId = tuple[str, int, int]
# What FastStream hands a Kafka middleware: one record, or a batch of them.
RawKafkaMessage: TypeAlias = ConsumerRecord | tuple[ConsumerRecord, ...] | None


class UndecodableMessageError(Exception):
    """The message cannot be decoded, so no retry can help: dead-letter it now.

    The message says what could not be read; the error it came from is its ``__cause__``.
    """


@dataclass(frozen=True, slots=True)
class HandlerRetryPolicy:
    """How often a failing message is tried, and how long to wait between tries."""

    max_attempts: int = 5
    first_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    # Waits while the store or Kafka is down are longer: they last as long as it does.
    max_outage_backoff_s: float = 30.0

    def backoff_s(self, failures: int, *, outage: bool = False) -> float:
        """Wait after the ``failures``-th failure: exponential, capped, with full jitter."""
        cap = self.max_outage_backoff_s if outage else self.max_backoff_s
        ceiling = min(cap, self.first_backoff_s * 2 ** (min(failures, 32) - 1))
        # Jitter spreads the retries of many consumers hitting one sick dependency.
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - timing, not security


class AttemptLedger:
    """Failed attempts per record in this process, bounded in size."""

    def __init__(self, capacity: int = _LEDGER_SIZE) -> None:
        self._capacity = capacity
        self._failures: OrderedDict[RecordId, int] = OrderedDict()

    def record_failure(self, record: RecordId) -> int:
        """Count one more failure of ``record``; returns the failures so far."""
        failures = self._failures.pop(record, 0) + 1
        self._failures[record] = failures
        while len(self._failures) > self._capacity:
            self._failures.popitem(last=False)
        return failures

    def forget(self, record: RecordId) -> None:
        self._failures.pop(record, None)

    def failures(self, record: RecordId) -> int:
        return self._failures.get(record, 0)


class DeadLetterMiddleware:
    """FastStream broker middleware: retry a failing record in place, then dead-letter it."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        service: str,
        topic: str,
        retry: HandlerRetryPolicy,
        ledger: AttemptLedger | None = None,
    ) -> None:
        self.broker = broker
        self.service = service
        self.topic = topic
        self.retry = retry
        self.ledger = ledger or AttemptLedger()
        # Waits for the store or Kafka, apart: they never count towards dead-lettering.
        self.outage_waits = AttemptLedger()

    def __call__(self, msg: RawKafkaMessage, /, *, context: ContextRepo) -> _DeadLetterScope:
        return _DeadLetterScope(msg, context=context, owner=self)

    def handled(self, record: ConsumerRecord) -> None:
        """``record``'s handler succeeded: its failures are forgotten."""
        record_id: RecordId = (record.topic, record.partition, record.offset)
        self.ledger.forget(record_id)
        self.outage_waits.forget(record_id)

    async def failed(self, record: ConsumerRecord, error: Exception) -> bool:
        """``record``'s handler raised ``error``: True once it is dead-lettered (the record
        is done with), False after the backoff when it should be tried again."""
        record_id: RecordId = (record.topic, record.partition, record.offset)
        if is_outage(error) or is_throttled(error):
            waits = self.outage_waits.record_failure(record_id)
            log.warning(
                "the store or Kafka is down, or the vendor throttles us; the message waits "
                "and is delivered again",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                waits=waits,
                error_type=_qualified_name(type(error)),
            )
            await asyncio.sleep(self.retry.backoff_s(waits, outage=True))
            return False

        failures = self.ledger.record_failure(record_id)
        context = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "attempt": failures,
            "max_attempts": self.retry.max_attempts,
            "error_type": _qualified_name(type(error)),
        }
        undecodable = isinstance(error, UndecodableMessageError)
        if failures < self.retry.max_attempts and not undecodable:
            log.warning("handler failed; the message will be delivered again", **context)
            await asyncio.sleep(self.retry.backoff_s(failures))  # backoff before redelivery
            return False

        letter = dead_letter_for(record, service=self.service, attempts=failures, error=error)
        if undecodable:
            context["reason"] = "undecodable"
        await publish(self.broker, letter, topic=self.topic)
        DEAD_LETTERS.labels(self.service, record.topic).inc()
        self.ledger.forget(record_id)
        log.error(
            "handler gave up; message sent to the dead-letter topic", dlq=self.topic, **context
        )
        return True


class _DeadLetterScope(BaseMiddleware[KafkaPublishCommand, ConsumerRecord]):
    """One message's pass through :class:`DeadLetterMiddleware`."""

    def __init__(
        self, msg: RawKafkaMessage, /, *, context: ContextRepo, owner: DeadLetterMiddleware
    ) -> None:
        super().__init__(msg, context=context)
        self.owner = owner

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        record = self.msg
        # A batch's records are settled one by one by services.runtime.keyed_batches.
        if not isinstance(record, ConsumerRecord):
            return False
        if exc_val is None:
            self.owner.handled(record)
            return False
        # Shutdown, or an explicit ack/nack/reject raised by the handler: not a failure.
        if not isinstance(exc_val, Exception) or isinstance(exc_val, HandlerException):
            return False
        # Swallowing the error lets the acknowledgement policy commit the record.
        return await self.owner.failed(record, exc_val)


def dead_letters_of(broker: KafkaBroker) -> DeadLetterMiddleware:
    """The retry-then-dead-letter policy ``broker`` was made with (``bus.create_broker``)."""
    for middleware in broker.middlewares:
        if isinstance(middleware, DeadLetterMiddleware):
            return middleware
    msg = "the broker has no DeadLetterMiddleware: make it with services.runtime.bus.create_broker"
    raise LookupError(msg)


def dead_letter_for(
    record: ConsumerRecord, *, service: str, attempts: int, error: BaseException
) -> DeadLetter:
    """The dead letter for a Kafka record whose handler kept failing.

    Keyed and correlated like the original where its key or body tells us
    how, so the dead letter joins the record's audit trail.
    """
    raw_value: bytes = record.value or b""
    original, encoding = _as_text(raw_value)
    key = record.key.decode("utf-8", errors="replace") if record.key is not None else None
    envelope = _envelope_hints(raw_value)
    connection_id, _, entity_key = (key or "").partition(":")
    if not (connection_id and entity_key):
        connection_id = _text_or(envelope.get("connection_id"), "unknown")
        entity_key = _text_or(
            envelope.get("entity_key"), f"{record.topic}/{record.partition}/{record.offset}"
        )
    event_id = _uuid_or_none(envelope.get("event_id"))
    return DeadLetter(
        connection_id=connection_id,
        tenant_id=_text_or(envelope.get("tenant_id"), "default"),
        entity_key=entity_key,
        occurred_at=utcnow(),
        causation_id=event_id,
        correlation_id=_uuid_or_none(envelope.get("correlation_id")) or event_id,
        service=service,
        original_topic=record.topic,
        original_partition=record.partition,
        original_offset=record.offset,
        original_key=key,
        original=original,
        original_encoding=encoding,
        attempts=attempts,
        error_type=_qualified_name(type(error)),
        error=str(error)[:_MAX_ERROR_CHARS],
    )


def _as_text(value: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    try:
        return value.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii"), "base64"


def _envelope_hints(value: bytes) -> dict[str, Any]:
    """The original's JSON object, or nothing when it is not one (it may be why it failed)."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _text_or(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _uuid_or_none(value: object) -> UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def _qualified_name(cls: type[BaseException]) -> str:
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
