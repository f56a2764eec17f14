"""What every service runs beside its work so it can be watched: the ops port, its
liveness and readiness, and the samplers behind the gauges.

One call for every kind of process (a consumer, the edge, the control plane), so each
answers ``/metrics``, ``/livez`` and ``/readyz`` the same way on ``MLC_OPS_PORT``:

- live: the event loop runs (:class:`~services.runtime.health.Health`);
- ready: Kafka answers, and for a consumer, a partition is assigned to it;
- gauges: every process samples its vendor budgets; a consumer its groups' lag; the
  caller adds its own (the control plane's review queue and link freshness);
- memory a burst freed is handed back to the node now and then
  (:mod:`services.runtime.memory_return`).

The ops port opens before the broker starts, so a process slow to join its group is
reported live and not ready rather than not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from faststream.kafka import KafkaBroker

from services.runtime.consumer_lag import consumer_lag_sampler
from services.runtime.health import (
    Health,
    ReadinessCheck,
    Sampler,
    broker_reachable,
    health_running,
    partitions_assigned,
)
from services.runtime.memory_return import memory_return_sampler
from services.runtime.metrics import VENDOR_BUDGET_USE
from services.runtime.ops_server import ops_server_running
from services.runtime.ratelimit import PROCESS_BUDGETS
from services.runtime.settings import RuntimeSettings

__all__ = ["budget_use_sampler", "observed"]


def budget_use_sampler(*, every_seconds: float = 1.0) -> Sampler:
    """Keeps ``mlc_vendor_budget_use_ratio`` current for every connection this process calls."""

    async def sample() -> None:
        VENDOR_BUDGET_USE.replace(PROCESS_BUDGETS.usage())

    return Sampler("vendor_budget_use", sample, every_seconds)


@asynccontextmanager
async def observed(
    settings: RuntimeSettings,
    broker: KafkaBroker,
    *,
    consumes: bool,
    samplers: Sequence[Sampler] = (),
) -> AsyncIterator[Health]:
    """Serve the ops port and keep its answers current for the duration of the block."""
    health = Health(stall_seconds=settings.liveness_stall_seconds)
    checks: list[ReadinessCheck] = [
        broker_reachable(broker, timeout=settings.health_kafka_timeout_seconds)
    ]
    running = [budget_use_sampler(), *samplers]
    memory_return = memory_return_sampler(settings.memory_return_seconds)
    if memory_return is not None:
        running.append(memory_return)
    if consumes:
        checks.append(partitions_assigned(broker))
        running.append(consumer_lag_sampler(broker))
    with ops_server_running(
        health, host=settings.ops_host, port=settings.ops_port, service=settings.service_name
    ):
        async with health_running(health, checks, running):
            yield health
