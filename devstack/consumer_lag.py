"""A running process's consumer lag, read from its ops port's ``/metrics``.

Every service keeps ``mlc_consumer_lag_messages`` (per group, topic and partition it holds,
``services/runtime/consumer_lag.py``); the fault suite waits on it to be 0 and the scale-out
benchmark on which partitions each replica holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import httpx

from devstack.ops_metrics import metric_samples

__all__ = ["LAG_METRIC", "LagSample", "lag_of"]

LAG_METRIC: Final = "mlc_consumer_lag_messages"


@dataclass(frozen=True, slots=True)
class LagSample:
    """Messages a consumer group has not handled yet on one partition it holds."""

    group: str
    topic: str
    partition: str
    messages: float


async def lag_of(http: httpx.AsyncClient, ops_url: str) -> list[LagSample] | None:
    """The process's lag, a sample per partition it holds; None when it did not answer
    (restarting, say: its backlog is unknown, not nothing)."""
    samples = await metric_samples(http, ops_url, LAG_METRIC)
    if samples is None:
        return None
    return [
        LagSample(
            group=sample.labels.get("group", ""),
            topic=sample.labels.get("topic", ""),
            partition=sample.labels.get("partition", ""),
            messages=sample.value,
        )
        for sample in samples
    ]
