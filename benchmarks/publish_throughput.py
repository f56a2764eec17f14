"""Benchmark 1: events/s through ``services.runtime.publish`` to a 6-partition topic.

Each call waits for the broker's acknowledgement (acks=all, idempotent
producer), so the sequential rate is one round trip per event; concurrent
publishers let the producer batch several events into one request.
"""

from __future__ import annotations

import asyncio
import time

from faststream.kafka import KafkaBroker

from benchmarks.events import sample_employee
from benchmarks.kafka import bench_topic, connected_broker
from benchmarks.results import Measurement, Target, percentile
from services.runtime import publish

__all__ = ["TARGETS", "measure_publish"]

TARGETS = {
    "sequential": Target(
        500,
        "at_least",
        "one acks=all round trip per event on loopback; a webhook answers after one publish, "
        "so this bounds webhooks/s per ingest request (here 750-1,400/s depending on load)",
    ),
    "concurrent": Target(
        3_000,
        "at_least",
        "concurrent publishers share producer batches; ingest and sources publish from many "
        "handlers at once (here about 9,700/s with 32 publishers)",
    ),
    "p50": Target(5, "at_most", "a webhook's 2xx waits for this ack; vendors time out in seconds"),
    "p99": Target(25, "at_most", "tail of the same ack, with other work on the two cores"),
}


async def _timed_publish(
    broker: KafkaBroker, topic: str, index: int, latencies: list[float]
) -> None:
    event = sample_employee(index)
    started = time.perf_counter()
    await publish(broker, event, topic=topic)
    latencies.append((time.perf_counter() - started) * 1000)


async def measure_publish(
    bootstrap: str, *, events: int, concurrency: int, warm_up: int = 50
) -> list[Measurement]:
    """Sequential and ``concurrency``-wide publish rates and the sequential ack latency."""
    async with bench_topic(bootstrap, "publish") as topic, connected_broker(bootstrap) as broker:
        for index in range(warm_up):
            await publish(broker, sample_employee(-index), topic=topic)

        sequential_latencies: list[float] = []
        started = time.perf_counter()
        for index in range(events):
            await _timed_publish(broker, topic, index, sequential_latencies)
        sequential_rate = events / (time.perf_counter() - started)

        concurrent_latencies: list[float] = []

        async def publisher(first: int) -> None:
            for index in range(first, events, concurrency):
                await _timed_publish(broker, topic, index, concurrent_latencies)

        started = time.perf_counter()
        await asyncio.gather(*(publisher(first) for first in range(concurrency)))
        concurrent_rate = events / (time.perf_counter() - started)

    return [
        Measurement(
            "publish, sequential (await each ack)",
            sequential_rate,
            "events/s",
            TARGETS["sequential"],
        ),
        Measurement(
            f"publish, {concurrency} concurrent publishers",
            concurrent_rate,
            "events/s",
            TARGETS["concurrent"],
        ),
        Measurement(
            "publish ack latency p50 (sequential)",
            percentile(sequential_latencies, 0.5),
            "ms",
            TARGETS["p50"],
        ),
        Measurement(
            "publish ack latency p99 (sequential)",
            percentile(sequential_latencies, 0.99),
            "ms",
            TARGETS["p99"],
        ),
        Measurement(
            f"publish ack latency p99 ({concurrency} concurrent)",
            percentile(concurrent_latencies, 0.99),
            "ms",
            note="informational: queueing behind the other publishers' batches",
        ),
    ]
