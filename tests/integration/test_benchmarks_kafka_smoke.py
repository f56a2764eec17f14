"""The broker and socket benchmarks run with tiny sizes and report well-formed rows.

No timing is asserted: speed targets live in the benchmarks (docs/benchmarks.md),
never in tests. The socket-free ones are in tests/unit/test_benchmarks_smoke.py.
"""

from __future__ import annotations

from benchmarks.console_pages import PAGES, measure_console
from benchmarks.consume_throughput import measure_consume
from benchmarks.consumer_memory import measure_consumer_memory
from benchmarks.kafka import bench_topic, connected_broker, fill_topic
from benchmarks.publish_throughput import measure_publish
from benchmarks.results import Measurement
from benchmarks.sandbox_requests import measure_sandbox_over_socket


def assert_measured(rows: list[Measurement]) -> None:
    for row in rows:
        assert row.value is not None, row.result_text
        assert row.value > 0
        assert row.unit


async def test_publish_benchmark_reports_rates_and_ack_latencies(kafka_bootstrap: str) -> None:
    rows = await measure_publish(kafka_bootstrap, events=20, concurrency=4, warm_up=2)
    assert_measured(rows)
    assert [row.unit for row in rows] == ["events/s", "events/s", "ms", "ms", "ms"]
    assert all(row.target is not None for row in rows[:4])


async def test_consumer_benchmarks_drain_a_backlog_and_report_rate_latency_and_memory(
    kafka_bootstrap: str,
) -> None:
    async with bench_topic(kafka_bootstrap, "smoke") as topic:
        async with connected_broker(kafka_bootstrap) as broker:
            await fill_topic(broker, topic, count=30, concurrency=4)
        consumed = await measure_consume(
            kafka_bootstrap, topic, backlog=30, latency_samples=3, timeout_s=60
        )
        memory = await measure_consumer_memory(kafka_bootstrap, topic, count=30, timeout_s=90)
    assert_measured(consumed)
    assert [row.unit for row in consumed] == ["messages/s", "ms", "ms"]
    assert_measured(memory)
    assert memory[0].unit == "MB"
    assert memory[0].value is not None
    # A Python process with FastStream and aiokafka loaded is tens of megabytes at least.
    assert memory[0].value > 20


async def test_sandbox_socket_benchmark_reports_sequential_and_concurrent_rates() -> None:
    rows = await measure_sandbox_over_socket(count=4, concurrency=2, warm_up=1)
    assert_measured(rows)
    assert [row.unit for row in rows] == ["requests/s", "requests/s"]


async def test_console_benchmark_folds_the_log_and_times_every_page(kafka_bootstrap: str) -> None:
    rows = await measure_console(kafka_bootstrap, outcomes=50, requests=2)
    assert_measured(rows)
    assert [row.unit for row in rows] == ["events/s"] + ["ms"] * len(PAGES)
    assert all(row.target is not None for row in rows)
