"""A running process's metrics, read from its ops port's ``/metrics``.

Every service serves its Prometheus metrics there (``services/runtime/metrics.py``). The
fault suite and the benchmarks wait on a few of them (consumer lag, a vendor budget's
use) rather than on time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["MetricSample", "metric_samples"]


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One labelled value of a metric."""

    labels: Mapping[str, str]
    value: float


async def metric_samples(
    http: httpx.AsyncClient, ops_url: str, name: str
) -> list[MetricSample] | None:
    """Every sample of metric ``name`` the process serves now; None when it did not
    answer (restarting, say: its value is unknown, not nothing)."""
    try:
        answer = await http.get(f"{ops_url}/metrics")
    except httpx.TransportError:
        return None
    return [
        MetricSample(labels=dict(sample.labels), value=sample.value)
        for family in text_string_to_metric_families(answer.text)
        if family.name == name
        for sample in family.samples
    ]
