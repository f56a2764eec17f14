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
offset reset cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Collection

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.subscriber.usecase import DefaultSubscriber

from schemas.topics import dlq_topic
from services.runtime.dead_letters import DeadLetterMiddleware, HandlerRetryPolicy
from services.runtime.metrics import REGISTRY
from services.runtime.settings import RuntimeSettings
from services.runtime.tracing import tracer_provider

__all__ = ["ACK_POLICY", "create_broker", "subscriber"]

ACK_POLICY = AckPolicy.NACK_ON_ERROR
"""The acknowledgement policy of every consumer (see the module docstring for why)."""


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
    session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int = 3_000,
    max_poll_interval_ms: int = 300_000,
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
    return registrar.subscriber(
        *topics,
        group_id=group_id,
        max_workers=workers,
        auto_offset_reset="earliest",
        ack_policy=ACK_POLICY,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=heartbeat_interval_ms,
        max_poll_interval_ms=max_poll_interval_ms,
    )
