"""Benchmark 2: a FastStream subscriber built with ``services.runtime.bus``.

The subscriber is the one every service uses (``create_broker`` +
``subscriber``: NACK_ON_ERROR, an offset commit after each message) with a
handler that only notes the message, so what is measured is the kit: fetch,
decode into ``EmployeeChanged``, middleware, commit.

- Throughput: a backlog already on the topic is drained; the rate is taken
  from the first handled message to the last, so the group join is not in it.
- End-to-end latency: with the subscriber idle, one event at a time is
  published and timed until the handler sees it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from benchmarks.events import sample_employee
from benchmarks.kafka import bench_broker, unique_name
from benchmarks.results import Measurement, Target, percentile
from schemas import EmployeeChanged
from services.runtime import publish, subscriber

__all__ = ["TARGETS", "measure_consume"]

TARGETS = {
    "throughput": Target(
        300,
        "at_least",
        "one synchronous offset commit per message is the price of at-least-once, and a "
        "replay or backfill drains a topic at this rate; here the subscriber drained about "
        "900/s with the broker set to group.coordinator.append.linger.ms=0, and about 155/s "
        "with Kafka 4's default of 5 ms, which holds every commit about 6 ms",
    ),
    "p50": Target(
        10,
        "at_most",
        "publish -> handler on an idle consumer should add no visible delay to a flow "
        "(here: about 2 ms with the linger at 0, about 7 ms with the default)",
    ),
    "p99": Target(50, "at_most", "tail of the same, on two shared cores"),
}


@dataclass
class _HandledLog:
    """When each employee id reached the handler (perf_counter seconds)."""

    expected: int = 0
    times: list[float] = field(default_factory=list)
    by_employee: dict[str, float] = field(default_factory=dict)
    all_handled: asyncio.Event = field(default_factory=asyncio.Event)
    latest: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, employee_id: str) -> None:
        now = time.perf_counter()
        self.times.append(now)
        self.by_employee[employee_id] = now
        self.latest.set()
        if len(self.times) >= self.expected:
            self.all_handled.set()


async def measure_consume(
    bootstrap: str,
    topic: str,
    *,
    backlog: int,
    latency_samples: int,
    timeout_s: float = 120.0,
) -> list[Measurement]:
    """Drain ``backlog`` events already on ``topic``, then time ``latency_samples`` round trips."""
    log = _HandledLog(expected=backlog)
    broker = bench_broker(bootstrap, service_name=unique_name("bench-consumer"))

    @subscriber(broker, topic, group_id=unique_name("bench-consume"))
    async def note_employee(event: EmployeeChanged) -> None:
        log.note(event.employee_id)

    await broker.start()
    try:
        await asyncio.wait_for(log.all_handled.wait(), timeout=timeout_s)
        first, last = log.times[0], log.times[backlog - 1]
        throughput = (backlog - 1) / (last - first) if backlog > 1 else 0.0

        latencies: list[float] = []
        for index in range(latency_samples):
            event = sample_employee(index, run="e2e")
            log.latest.clear()
            sent = time.perf_counter()
            await publish(broker, event, topic=topic)
            deadline = sent + timeout_s
            while event.employee_id not in log.by_employee:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    msg = f"{event.employee_id} was not handled within {timeout_s:.0f} s"
                    raise TimeoutError(msg)
                await asyncio.wait_for(log.latest.wait(), timeout=remaining)
                log.latest.clear()
            latencies.append((log.by_employee[event.employee_id] - sent) * 1000)
    finally:
        await broker.stop()

    return [
        Measurement(
            "consume + commit each, no-op handler",
            throughput,
            "messages/s",
            TARGETS["throughput"],
            note=f"{backlog:,} messages drained, rate from the first handled to the last",
        ),
        Measurement(
            "end-to-end latency p50 (publish -> handled)",
            percentile(latencies, 0.5),
            "ms",
            TARGETS["p50"],
        ),
        Measurement(
            "end-to-end latency p99 (publish -> handled)",
            percentile(latencies, 0.99),
            "ms",
            TARGETS["p99"],
        ),
    ]
