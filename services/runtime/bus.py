"""The Kafka wiring every service uses: one broker factory, one subscriber factory.

Delivery guarantees (ARCHITECTURE.md) are decided here and nowhere else:

- Producing: ``acks="all"`` and an idempotent producer, so an acknowledged
  event is on every in-sync replica and a retried send is not written twice.
- Consuming: :data:`ACK_POLICY` is ``AckPolicy.NACK_ON_ERROR`` and offsets are
  committed only after the handler returned. FastStream's Kafka default
  (``ACK_FIRST``) auto-commits on receipt, so a crash mid-handler would lose
  the message; ``REJECT_ON_ERROR`` and ``ACK`` commit a failed message too
  (for Kafka a reject *is* an ack, faststream/kafka/message.py). With
  ``NACK_ON_ERROR`` auto-commit is off, a success commits, a raised error
  seeks the partition back to the failed offset (redelivery in place), and a
  killed process never committed, so the group's next owner gets the message.
- Watching: FastStream's Prometheus middleware counts messages consumed and published,
  their processing time and errors by topic (:mod:`services.runtime.metrics`' registry);
  its telemetry middleware carries traces across Kafka when tracing is configured
  (:mod:`services.runtime.tracing`).
- Giving up: :class:`~services.runtime.dead_letters.DeadLetterMiddleware`
  retries a failing message ``handler_max_attempts`` times with backoff, then
  sends it to ``dlq.<service>`` and lets it be committed.

Services register handlers through :func:`subscriber` so the group id and
offset reset cannot be forgotten. A sink of canonical events, idempotent per record,
registers through :func:`record_subscriber` instead: its records come in batches, handled
key by key at once and committed per batch (:mod:`services.runtime.keyed_batches`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaBroker as CurrentBroker
from faststream.kafka.annotations import KafkaMessage as CurrentMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.subscriber.usecase import DefaultSubscriber
from faststream.message import StreamMessage

from schemas.envelope import Event
from schemas.topics import dlq_topic
from services.runtime.dead_letters import (
    DeadLetterMiddleware,
    HandlerRetryPolicy,
    dead_letters_of,
)
from services.runtime.keyed_batches import BatchScreen, KeyedBatches
from services.runtime.metrics import REGISTRY
from services.runtime.settings import RuntimeSettings
from services.runtime.tracing import tracer_provider

__all__ = [
    "ACK_POLICY",
    "FETCH_AHEAD_BYTES",
    "ONE_AT_A_TIME",
    "Consuming",
    "create_broker",
    "record_subscriber",
    "subscriber",
]

ACK_POLICY = AckPolicy.NACK_ON_ERROR
"""The acknowledgement policy of every consumer (see the module docstring for why)."""

E = TypeVar("E", bound=Event)

# A consumer that stops heartbeating is replaced after the session timeout; one message's
# (or one batch's) handling may take up to the poll interval (both subscribers' defaults).
_SESSION_TIMEOUT_MS = 10_000
_HEARTBEAT_INTERVAL_MS = 3_000
_MAX_POLL_INTERVAL_MS = 300_000

# An empty poll of a batch subscriber waits this long before the next: the most a record
# arriving just then waits beyond its own handling.
_BATCH_WAIT_MS = 20

FETCH_AHEAD_BYTES: Final = 128 * 1024
"""How much of a partition's backlog a consumer holds ahead of its handlers (Kafka's
``max.partition.fetch.bytes``). Kafka's default, 1 MiB a partition, kept a backlog's
records resident in every service for nothing: a batch of 500 events is a fraction of it,
and the next fetch is one round trip. A bigger record is still fetched whole (the broker
returns a partition's first batch whatever its size), so this bounds memory, not records.
The price, measured on flow 3's replay of 10,000 applied events (two runs each): about 10 %
of the drain rate (3,764-3,918 events/s against 4,196-4,393 at 1 MiB, the goal being
2,000) for 5-6 MB less resident in the sink (118-119 MB against 123-125)."""
_FETCH_RESPONSE_BYTES: Final = 2 * 1024 * 1024  # one fetch, all partitions (Kafka: 50 MiB)


def _consumer_options(
    *, session_timeout_ms: int, heartbeat_interval_ms: int, max_poll_interval_ms: int
) -> dict[str, Any]:
    """What every consumer of ours is built with, one at a time or in batches: the ack
    policy, the earliest offset for a new group, the group's timeouts, the fetch-ahead."""
    return {
        "auto_offset_reset": "earliest",
        "ack_policy": ACK_POLICY,
        "session_timeout_ms": session_timeout_ms,
        "heartbeat_interval_ms": heartbeat_interval_ms,
        "max_poll_interval_ms": max_poll_interval_ms,
        "max_partition_fetch_bytes": FETCH_AHEAD_BYTES,
        "fetch_max_bytes": _FETCH_RESPONSE_BYTES,
    }


@dataclass(frozen=True, slots=True)
class Consuming:
    """How a service's subscribers take their messages (the ``MLC_CONSUMER_*`` settings)."""

    workers: int = 1
    """Consumers per :func:`subscriber` in the process (``MLC_CONSUMER_WORKERS``)."""
    batch: int = 1
    """Records per poll of a :func:`record_subscriber` (``MLC_CONSUMER_BATCH``); 1 takes
    them one at a time, as :func:`subscriber` does."""
    lanes: int = 1
    """Records of different keys a :func:`record_subscriber` handles at once
    (``MLC_CONSUMER_LANES``)."""

    @classmethod
    def of(cls, settings: RuntimeSettings) -> Consuming:
        return cls(
            workers=settings.consumer_workers,
            batch=settings.consumer_batch,
            lanes=settings.consumer_lanes,
        )


ONE_AT_A_TIME: Final = Consuming()
"""One message at a time, one consumer: what a router is built with unless told."""


def create_broker(
    settings: RuntimeSettings,
    *,
    dead_letter_topic: str | None = None,
    retry: HandlerRetryPolicy | None = None,
    services: Collection[str] | None = None,
) -> KafkaBroker:
    """The service's Kafka broker: safe producer, commit-after-handling consumers, DLQ.

    ``dead_letter_topic`` defaults to ``dlq.<settings.service_name>`` from the
    topic catalog; ``retry`` to ``settings.handler_max_attempts`` attempts with
    the default backoff. ``services`` (the catalog's, ``services.vendors.SERVICES``,
    which the runtime cannot import) refuses a service name without a dead-letter topic.
    """
    if services is not None and dead_letter_topic is None and settings.service_name not in services:
        msg = f"unknown service {settings.service_name!r}; known: {', '.join(services)}"
        raise KeyError(msg)
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=True,
        # Topics come from the catalog (services.runtime.topics_admin), never from a typo.
        allow_auto_create_topics=False,
        ack_policy=ACK_POLICY,
        # FastStream's own "Received" and "Processed" lines, two a message, at debug: the
        # outcome of every message is already on the bus and in the handler's own log line.
        log_level=logging.DEBUG,
    )
    # Outermost first: a trace span around everything, then the bus metrics, then retries.
    provider = tracer_provider(settings.service_name)
    if provider is not None:
        broker.add_middleware(KafkaTelemetryMiddleware(tracer_provider=provider))
    broker.add_middleware(
        KafkaPrometheusMiddleware(registry=REGISTRY, app_name=settings.service_name)
    )
    broker.add_middleware(
        DeadLetterMiddleware(
            broker=broker,
            service=settings.service_name,
            topic=dead_letter_topic or dlq_topic(settings.service_name),
            retry=retry or HandlerRetryPolicy(max_attempts=settings.handler_max_attempts),
        )
    )
    return broker


def subscriber(
    registrar: KafkaBroker | KafkaRouter,
    *topics: str,
    group_id: str,
    session_timeout_ms: int = _SESSION_TIMEOUT_MS,
    heartbeat_interval_ms: int = _HEARTBEAT_INTERVAL_MS,
    max_poll_interval_ms: int = _MAX_POLL_INTERVAL_MS,
    workers: int = 1,
) -> DefaultSubscriber:
    """A consumer of ``topics`` in consumer group ``group_id`` (the service's name).

    Use as a decorator: ``@subscriber(router, "people.employee", group_id=...)``.
    One message at a time per partition, so a partition's messages (one record's
    events: the key picks the partition) are handled in order. With ``workers`` above 1
    (``MLC_CONSUMER_WORKERS``) the process runs that many consumers of the group, each
    taking its share of the partitions as a replica would, so different partitions'
    messages are handled at the same time; each worker commits its own, after handling,
    as one consumer does. More workers than the topic has partitions stay idle. A new
    group starts from the
    earliest offset: a service deployed after events were published still
    sees them. A consumer that dies is replaced after ``session_timeout_ms``.
    ``max_poll_interval_ms`` bounds one message's handling before the consumer is taken out
    of the group (a handler that waits on purpose, e.g. for a vendor's quota, raises it).
    """
    # The options come as a mapping, so the overloads cannot pick the return type: name it.
    registered: DefaultSubscriber = registrar.subscriber(
        *topics,
        group_id=group_id,
        max_workers=workers,
        **_consumer_options(
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            max_poll_interval_ms=max_poll_interval_ms,
        ),
    )
    return registered


def record_subscriber(
    registrar: KafkaBroker | KafkaRouter,
    topic: str,
    event_type: type[E],
    *,
    group_id: str,
    consuming: Consuming,
    max_poll_interval_ms: int = _MAX_POLL_INTERVAL_MS,
    screen: BatchScreen[E] | None = None,
) -> Callable[[Callable[[E], Awaitable[None]]], Callable[[E], Awaitable[None]]]:
    """A sink's subscriber of ``event_type`` on ``topic``: the decorated handler gets one
    event, and must be idempotent per record (a crash redelivers a whole batch).

    With ``consuming.batch`` above 1 the records come in batches of up to that many,
    handled key by key at once and committed per batch (:mod:`services.runtime.keyed_batches`);
    at 1 this is :func:`subscriber`, one message at a time. ``max_poll_interval_ms`` bounds
    a batch's handling, as :func:`subscriber`'s bounds one message's. ``screen`` answers
    what it can of a whole batch first (a sink's already-applied events, say).
    """

    def register(handle: Callable[[E], Awaitable[None]]) -> Callable[[E], Awaitable[None]]:
        if consuming.batch <= 1:
            subscriber(
                registrar,
                topic,
                group_id=group_id,
                workers=consuming.workers,
                max_poll_interval_ms=max_poll_interval_ms,
            )(handle)
            return handle
        batches = KeyedBatches(handle, event_type, lanes=consuming.lanes, screen=screen)

        async def consume_batch(
            values: object, message: CurrentMessage, broker: CurrentBroker
        ) -> None:
            await batches.handle_batch(message.raw_message, dead_letters_of(broker))

        consume_batch.__name__ = getattr(handle, "__name__", consume_batch.__name__)
        registrar.subscriber(
            topic,
            group_id=group_id,
            batch=True,
            max_records=consuming.batch,
            batch_timeout_ms=_BATCH_WAIT_MS,
            decoder=_undecoded,
            **_consumer_options(
                session_timeout_ms=_SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=_HEARTBEAT_INTERVAL_MS,
                max_poll_interval_ms=max_poll_interval_ms,
            ),
        )(consume_batch)
        return handle

    return register


async def _undecoded(message: StreamMessage[Any]) -> None:
    """The batch handler reads its records itself (``keyed_batches`` decodes each alone, so
    one bad record is dead-lettered without failing the others)."""
