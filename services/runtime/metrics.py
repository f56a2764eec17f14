"""What every service counts, in one Prometheus registry per process, served at ``/metrics``.

The bus's own numbers (messages consumed and published, processing time, errors by
topic) come from FastStream's Prometheus middleware on the same registry
(:func:`services.runtime.bus.create_broker`); this module holds ours. Labels are
bounded: a vendor name from the registry, a connection or link id (a customer's
configuration, a handful each), a status; never a record id, never a path a caller chose.

Counters are counted where the thing happens. A number that is a state, not an event
(budget use, consumer lag, review-queue depth), is a :class:`SampledGauge`: the event loop
refreshes it every few seconds (:mod:`services.runtime.health` runs the samplers) and a
scrape, served from another thread, reads the last snapshot whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "CALL_LABELS_EXTENSION",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "LINK_LAST_OUTCOME",
    "OUTCOMES",
    "REGISTRY",
    "REVIEW_QUEUE_ITEMS",
    "REVIEW_QUEUE_OLDEST",
    "TOKEN_REFRESHES",
    "VENDOR_BUDGET_USE",
    "VENDOR_CALLS",
    "VENDOR_CALL_SECONDS",
    "VENDOR_THROTTLED",
    "VENDOR_WAITS",
    "VENDOR_WAIT_SECONDS",
    "WEBHOOKS",
    "SampledGauge",
    "bounded",
    "call_labels",
    "count_wait",
    "exposition",
]

# A *_created series per counter doubles the scrape for a number nobody graphs.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY: Final = CollectorRegistry(auto_describe=True)
"""The process's registry: ours, FastStream's, and the process and GC collectors."""
ProcessCollector(registry=REGISTRY)  # resident memory, CPU seconds, open files
GCCollector(registry=REGISTRY)

OTHER: Final = "other"
"""The label value for anything outside the known set (an unknown vendor in a URL)."""


def bounded(value: str, known: Iterable[str]) -> str:
    """``value`` when it is one of ``known``, else :data:`OTHER`: a caller-chosen string
    (a vendor in a webhook's path) must never mint a new time series."""
    return value if value in set(known) else OTHER


class SampledGauge(Collector):
    """A gauge whose whole set of series is replaced at once by the sampler that owns it.

    A series that is no longer sampled (a partition this replica lost, a link removed)
    disappears at the next :meth:`replace`, which a plain labelled Gauge cannot do without
    remembering what it set.
    """

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self._values: Mapping[tuple[str, ...], float] = {}
        registry.register(self)

    def replace(self, values: Mapping[tuple[str, ...], float]) -> None:
        """Every series of this gauge from now on: label values (in ``labels``' order) -> value."""
        self._values = dict(values)  # one reference swap: a scrape sees the old or the new

    def value(self, *labels: str) -> float | None:
        """One series' value (for tests and the console), None when it is not sampled."""
        return self._values.get(tuple(labels))

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, value in self._values.items():
            family.add_metric(list(labels), value)
        yield family

    def describe(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily(self.name, self.documentation, labels=self.labels)


WEBHOOKS: Final = Counter(
    "mlc_webhooks",
    "Webhook deliveries the edge answered, by vendor and result (accepted, duplicate, "
    "refused); a refusal's reason is its error code.",
    ["vendor", "result", "reason"],
    registry=REGISTRY,
)
VENDOR_CALLS: Final = Counter(
    "mlc_vendor_calls",
    "Calls to a vendor's API by vendor, method, status (or 'error' when no answer came) and "
    "connection (the client's budget key).",
    ["vendor", "method", "status", "connection"],
    registry=REGISTRY,
)
VENDOR_CALL_SECONDS: Final = Histogram(
    "mlc_vendor_call_seconds",
    "Time from sending a vendor call to its answer, retries and waits included.",
    ["vendor"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
VENDOR_THROTTLED: Final = Counter(
    "mlc_vendor_throttled",
    "429 answers from a vendor: its limit was reached before ours.",
    ["vendor", "connection"],
    registry=REGISTRY,
)
VENDOR_WAITS: Final = Counter(
    "mlc_vendor_waits",
    "Waits taken before a vendor call: 'budget' (our limiter held it back), 'retry_after' "
    "(the vendor said when) or 'backoff' (a retry after an error).",
    ["vendor", "connection", "cause"],
    registry=REGISTRY,
)
VENDOR_WAIT_SECONDS: Final = Counter(
    "mlc_vendor_wait_seconds",
    "Seconds spent in the waits of mlc_vendor_waits_total.",
    ["vendor", "connection", "cause"],
    registry=REGISTRY,
)
VENDOR_BUDGET_USE: Final = SampledGauge(
    "mlc_vendor_budget_use_ratio",
    "Share of a connection's request budget in use now (requests in flight or answered "
    "within the window, over the window's allowance); 1 is the configured limit.",
    ["vendor", "connection"],
    REGISTRY,
)
TOKEN_REFRESHES: Final = Counter(
    "mlc_token_refreshes",
    "OAuth token refreshes by vendor and result (ok, refused: the grant is gone, "
    "failed: the vendor could not be asked).",
    ["vendor", "result"],
    registry=REGISTRY,
)
OUTCOMES: Final = Counter(
    "mlc_outcomes",
    "Write outcomes a sink published, by link and status.",
    ["service", "link", "status"],
    registry=REGISTRY,
)
DEAD_LETTERS: Final = Counter(
    "mlc_dead_letters",
    "Messages given up on and sent to the service's dead-letter topic, by the topic they "
    "came from.",
    ["service", "topic"],
    registry=REGISTRY,
)
REVIEW_QUEUE_ITEMS: Final = SampledGauge(
    "mlc_review_queue_items",
    "Open review items by link (sampled by the control plane).",
    ["link"],
    REGISTRY,
)
REVIEW_QUEUE_OLDEST: Final = SampledGauge(
    "mlc_review_queue_oldest_age_seconds",
    "Age of the oldest open review item by link (sampled by the control plane).",
    ["link"],
    REGISTRY,
)
LINK_LAST_OUTCOME: Final = SampledGauge(
    "mlc_link_last_outcome_timestamp_seconds",
    "When each link's newest outcome was written (Unix time, from the read model; sampled "
    "by the control plane): flow freshness is time() minus this.",
    ["link", "status"],
    REGISTRY,
)
CONSUMER_LAG: Final = SampledGauge(
    "mlc_consumer_lag_messages",
    "Messages not yet committed by a consumer group, per partition this replica holds "
    "(log end minus committed offset).",
    ["group", "topic", "partition"],
    REGISTRY,
)


CALL_LABELS_EXTENSION: Final = "mlc.call_labels"
"""httpx request extension: (vendor, connection) of a vendor call, set by the vendor client
(:func:`services.runtime.http.build_client`) for the transports under it to count with."""


def call_labels(extensions: Mapping[str, object]) -> tuple[str, str] | None:
    """The (vendor, connection) a request was stamped with, or None (not a vendor client's)."""
    labels = extensions.get(CALL_LABELS_EXTENSION)
    if isinstance(labels, tuple) and len(labels) == 2:
        return (str(labels[0]), str(labels[1]))
    return None


def count_wait(extensions: Mapping[str, object], cause: str, seconds: float) -> None:
    """A wait of ``seconds`` before a vendor call, for ``cause`` (see VENDOR_WAITS)."""
    labels = call_labels(extensions)
    if labels is None or seconds <= 0:
        return
    VENDOR_WAITS.labels(*labels, cause).inc()
    VENDOR_WAIT_SECONDS.labels(*labels, cause).inc(seconds)


def exposition() -> bytes:
    """The registry in Prometheus' text format, as ``/metrics`` serves it."""
    return generate_latest(REGISTRY)
