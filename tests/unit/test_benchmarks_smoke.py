"""The benchmarks that need no socket run with tiny sizes and report well-formed rows.

No timing is asserted: speed targets live in the benchmarks (docs/benchmarks.md),
never in tests. The broker and socket benchmarks are smoke-tested in
tests/integration/test_benchmarks_kafka_smoke.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from benchmarks.codec import measure_codec
from benchmarks.flow_latency import _Sent, _this_or_later
from benchmarks.ledger_claims import measure_ledger
from benchmarks.report import Report, render_markdown, render_table
from benchmarks.results import Measurement, Target, failed, percentile, skipped
from benchmarks.runner import QUICK, run_benchmarks
from benchmarks.sandbox_requests import measure_sandbox_in_process
from benchmarks.vault_roundtrip import measure_vault


def assert_measured(rows: list[Measurement], expected_names: int) -> None:
    assert len(rows) == expected_names
    for row in rows:
        assert row.value is not None, row.result_text
        assert row.value > 0
        assert row.unit
        assert row.target is not None
        assert row.target.reason
        assert row.met is not None


def test_codec_benchmark_reports_encode_and_decode_rates() -> None:
    rows = measure_codec(count=50, warm_up=5)
    assert_measured(rows, 2)
    assert [row.unit for row in rows] == ["events/s", "events/s"]


def test_vault_benchmark_reports_round_trips_per_second() -> None:
    rows = measure_vault(count=20, warm_up=2)
    assert_measured(rows, 1)
    assert rows[0].unit == "round trips/s"


async def test_ledger_benchmark_measures_sqlite_and_says_why_postgres_was_skipped() -> None:
    sqlite_row, postgres_row = await measure_ledger(count=10, warm_up=2, with_postgres=False)
    assert_measured([sqlite_row], 1)
    assert postgres_row.value is None
    assert postgres_row.met is None
    assert postgres_row.result_text == "skipped: not requested"


async def test_sandbox_in_process_benchmark_reports_requests_per_second() -> None:
    rows = await measure_sandbox_in_process(count=5, warm_up=1)
    assert_measured(rows, 1)
    assert rows[0].unit == "requests/s"


def test_a_floor_target_is_met_at_or_above_its_value_and_a_ceiling_at_or_below() -> None:
    floor = Target(100, "at_least", "why")
    ceiling = Target(5, "at_most", "why")
    assert Measurement("rate", 100, "events/s", floor).met is True
    assert Measurement("rate", 99.9, "events/s", floor).met is False
    assert Measurement("latency", 5, "ms", ceiling).met is True
    assert Measurement("latency", 5.1, "ms", ceiling).met is False


def test_a_failed_benchmark_counts_as_missed_and_a_skipped_one_does_not() -> None:
    broken = failed("publish", RuntimeError("no broker\nsecond line"))
    assert broken.met is False
    assert broken.result_text == "failed: RuntimeError: no broker"
    absent = skipped("ledger, PostgreSQL", "claims/s", "PostgreSQL not available")
    assert absent.met is None


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(value) for value in range(1, 101)]
    assert percentile(samples, 0.5) == 50
    assert percentile(samples, 0.99) == 99
    assert percentile([7.0], 0.99) == 7


def test_the_report_lists_every_row_with_its_verdict_and_the_reason_for_each_target() -> None:
    target = Target(300, "at_least", "one ack per event on loopback")
    rows = [
        Measurement("publish, sequential", 250, "events/s", target),
        skipped("ledger claims, PostgreSQL", "claims/s", "PostgreSQL not available"),
    ]
    report = Report(
        measurements=rows,
        machine=[("CPU", "test CPU, 2 cores"), ("Kafka", "Apache Kafka 4.1.1")],
        started_at=datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
        duration_s=12.0,
        command="make bench",
    )
    markdown = render_markdown(report)
    assert "| publish, sequential | 250 events/s | >= 300 events/s | MISSED |" in markdown
    assert "| ledger claims, PostgreSQL | skipped: PostgreSQL not available | - | - |" in markdown
    assert "| CPU | test CPU, 2 cores |" in markdown
    assert "| command | `make bench` |" in markdown
    assert "one ack per event on loopback" in markdown
    assert report.all_met is False
    table = render_table(rows)
    assert table.splitlines()[0].split() == ["benchmark", "result", "target", "met"]
    assert "MISSED" in table


def test_a_rename_counts_a_later_one_of_the_same_person_as_its_landing() -> None:
    moment = datetime(2026, 12, 5, tzinfo=UTC)
    sent = [
        _Sent("7", "a-1", moment),
        _Sent("8", "b-1", moment),
        _Sent("7", "a-2", moment),
        _Sent("7", "a-3", moment),
    ]
    assert _this_or_later(sent) == [
        frozenset({"a-1", "a-2", "a-3"}),
        frozenset({"b-1"}),
        frozenset({"a-2", "a-3"}),
        frozenset({"a-3"}),
    ]


async def test_an_unknown_benchmark_group_is_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="unknown benchmark group"):
        await run_benchmarks(QUICK, command="test", groups=["spine", "nonsense"])
