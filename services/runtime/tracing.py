"""OpenTelemetry traces, exported by OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

One record's trace runs from the webhook request at the edge (the ASGI middleware), through
each Kafka hop (FastStream's telemetry middleware writes the trace context into the
message's headers and continues it on the consuming side), to the vendor calls
(httpx instrumented). Every Kafka span carries the event's correlation id as
``messaging.message.conversation_id`` (FastStream sets it from the message), and the
webhook's span carries it as ``mlc.correlation_id``: the same id ``mlc audit`` shows.

Unset, nothing is installed: no middleware on the broker, no patched httpx, no provider;
the API's no-op tracer answers the one ``set_attribute`` the edge makes. The standard
``OTEL_*`` variables (endpoint, headers, sampler, ``OTEL_BSP_*`` batching) are read by the
SDK itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import cache
from typing import TYPE_CHECKING, Final
from uuid import UUID

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord

__all__ = [
    "CORRELATION_ATTRIBUTE",
    "ENDPOINT_VARIABLES",
    "consume_span",
    "mark_correlation",
    "tracer_provider",
]

ENDPOINT_VARIABLES: Final = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
CORRELATION_ATTRIBUTE: Final = "mlc.correlation_id"
# The attribute names and propagator of FastStream's telemetry middleware, so a record
# handled in a batch (services.runtime.keyed_batches) has the span one handled alone has.
_CONVERSATION_ATTRIBUTE: Final = "messaging.message.conversation_id"
_PROPAGATOR: Final = TraceContextTextMapPropagator()


@cache
def tracer_provider(service_name: str) -> TracerProvider | None:
    """The process's provider (made once, installed globally, httpx instrumented), or None
    when no OTLP endpoint is configured."""
    if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        return None
    # Imported here: a process that does not trace never loads the exporter or protobuf.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"mlc-{service_name}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    return provider


def mark_correlation(correlation_id: str) -> None:
    """Name the chain on the current span (a no-op when nothing is traced)."""
    trace.get_current_span().set_attribute(CORRELATION_ATTRIBUTE, correlation_id)


def consume_span(
    record: ConsumerRecord, *, correlation_id: UUID | None
) -> contextlib.AbstractContextManager[object]:
    """A span around the handling of one ``record`` of a batch, continuing the trace its
    headers carry (nothing when no provider is installed)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        return nullcontext()
    return _record_span(record, correlation_id)


@contextmanager
def _record_span(record: ConsumerRecord, correlation_id: UUID | None) -> Iterator[object]:
    carrier = {name: value.decode("latin-1") for name, value in record.headers}
    attributes = {
        "messaging.system": "kafka",
        "messaging.destination.name": record.topic,
        "messaging.kafka.destination.partition": record.partition,
        "messaging.kafka.message.offset": record.offset,
        "messaging.operation": "process",
    }
    if correlation_id is not None:
        attributes[_CONVERSATION_ATTRIBUTE] = str(correlation_id)
    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span(
        f"{record.topic} process",
        context=_PROPAGATOR.extract(carrier),
        kind=trace.SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:
        yield span
