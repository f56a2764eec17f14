"""Flows 1, 4 and 5, flow 1's freshness, replay and scale-out, and the edge: their benchmarks run at
tiny sizes on the real stack, rows well formed.

No timing is asserted: speed targets live in the benchmarks (docs/benchmarks.md),
never in tests. What is asserted is that each benchmark measured the flow it names:
every rename reached FreshBooks as a staff PUT, and the backfill's new people were
read from BambooHR in a few calls and written to FreshBooks; every bill entered reached
BILL, each payment cleared alone reached FreshBooks, and the backfilled bills were each
created in BILL once; an approved report was booked after its poll, and each backfilled
report was booked once.
"""

from __future__ import annotations

import time

from benchmarks.edge_throughput import measure_edge
from benchmarks.flow_ap_bill import measure_ap_bill
from benchmarks.flow_backfill import FRESHBOOKS as FRESHBOOKS_BACKFILL
from benchmarks.flow_backfill import measure_backfill
from benchmarks.flow_expenses import measure_expenses
from benchmarks.flow_freshness import measure_freshness
from benchmarks.flow_latency import FRESHBOOKS as FRESHBOOKS_LATENCY
from benchmarks.flow_latency import measure_webhook_to_write
from benchmarks.flow_replay import measure_replay
from benchmarks.flow_scale_out import measure_scale_out
from benchmarks.flow_stack import flow_stack
from benchmarks.results import Measurement
from benchmarks.service_footprint import measure_footprint


def assert_measured(rows: list[Measurement]) -> None:
    for row in rows:
        assert not row.failed, row.note
        assert row.value is not None, row.result_text
        assert row.value > 0
        assert row.unit
        assert row.target is not None
        assert row.target.reason


async def test_flow_benchmarks_time_renames_to_freshbooks_and_backfill_new_people(
    kafka_bootstrap: str,
) -> None:
    async with flow_stack(kafka_bootstrap) as stack:
        latency = await measure_webhook_to_write(
            stack, FRESHBOOKS_LATENCY, per_second=1.0, seconds=3.0
        )
        replay = await measure_replay(
            stack,
            label="flow 1",
            events=60,
            timeout_seconds=120.0,
            people_path=FRESHBOOKS_BACKFILL.people_path,
        )
        backfill = await measure_backfill(
            stack, FRESHBOOKS_BACKFILL, employees=20, budget_seconds=180.0
        )

        # Every rename was a FreshBooks write: one staff PUT each, in the sandbox's log.
        assert_measured(latency)
        assert [row.unit for row in latency] == ["ms", "ms"]
        assert "3 renames at 1/s" in latency[0].note
        assert "3 staff PUTs" in latency[0].note, latency[0].note
        assert latency[0].name.startswith("flow 1 webhook -> FreshBooks write p50")
        assert latency[0].value is not None
        assert latency[1].value is not None
        assert latency[0].value <= latency[1].value  # p50 <= p99

        # Every copy was answered unchanged, none written (measure_replay raises otherwise).
        assert_measured(replay)
        [replayed] = replay
        assert replayed.unit == "events/s"
        assert "60 answered unchanged" in replayed.note, replayed.note
        assert "0 writes" in replayed.note

        assert_measured(backfill)
        assert [row.unit for row in backfill] == [
            "employees/s",
            "calls",
            "calls",
            "of the ceiling",
        ]
        assert "20 employees" in backfill[0].name
        assert "bamboohr published 20 of them" in backfill[0].note, backfill[0].note
        # The reconcile reads BambooHR in a handful of calls, never one per employee.
        assert backfill[1].value is not None
        assert backfill[1].value < 20, backfill[0].note
        invited = [
            r
            for r in await stack.requests(stack.freshbooks)
            if r.method == "POST" and r.path.endswith("/users/invitation")
        ]
        assert invited, backfill[0].note

        footprint = measure_footprint(stack, "flow 1", work="the smoke run")
        assert_measured(footprint)
        # The edge and the control plane apart, as deployed: a row each.
        assert {row.name.split(": ")[1].split(" ")[0] for row in footprint} == {
            "ingest",
            "control",
            "bamboohr",
            "freshbooks",
        }
        assert all(row.unit == "MB" and "peak" in row.note for row in footprint)


async def test_the_freshness_benchmark_grows_the_staff_and_times_renames_with_limits_off(
    kafka_bootstrap: str,
) -> None:
    rows = await measure_freshness(kafka_bootstrap, per_second=4.0, seconds=2.0)
    assert_measured(rows)
    assert [row.unit for row in rows] == ["ms", "ms"]
    # 4/s needs 12 people who are FreshBooks staff: the seed has 8, so the run grew it.
    assert "8 renames at 4/s for 2 s over 12 linked employees" in rows[0].note, rows[0].note
    assert "0 429s" in rows[0].note


async def test_the_edge_benchmark_measures_the_edge_and_a_bare_endpoint_side_by_side(
    kafka_bootstrap: str,
) -> None:
    rows = await measure_edge(kafka_bootstrap, deliveries=40, concurrency=4)
    edge, bare, ratio = rows
    assert edge.value is not None
    assert edge.value > 0
    assert "'200 accepted': 40" in edge.note, edge.note
    assert bare.value is not None
    assert bare.value > 0
    assert ratio.target is not None
    assert ratio.value == edge.value / bare.value


async def test_flow_4_benchmark_times_bills_and_payments_and_backfills_bills(
    kafka_bootstrap: str,
) -> None:
    async with flow_stack(kafka_bootstrap, flow_name="ap-bill") as stack:
        started = time.monotonic()
        rows = await measure_ap_bill(
            stack,
            bills_per_second=1.0,
            bill_seconds=2.0,
            payments_per_second=1.0,
            backfill_bills=10,
            budget_seconds=180.0,
        )
        created = [
            r
            for r in await stack.requests(stack.target)
            if r.method == "POST" and r.path.endswith("/v3/bills")
        ]

    assert_measured(rows)
    assert [row.unit for row in rows] == ["ms"] * 4 + [
        "bills/min",
        "calls",
        "calls",
        "of the ceiling",
    ]
    assert "2 bills at 1/s" in rows[0].note, rows[0].note
    assert "2 payments cleared" in rows[2].note, rows[2].note
    assert "one a step" in rows[2].note, rows[2].note
    # Not a speed target: a latency longer than the whole run is a measuring mistake (a
    # sandbox clock offset taken from the wrong moment once made one of hours).
    within = (time.monotonic() - started) * 1000
    assert all(row.value is not None and row.value < within for row in rows[:4]), rows[:4]
    assert "'applied': 2" in rows[2].note, rows[2].note
    assert "10 of 10 bills answered" in rows[4].note, rows[4].note
    assert len(created) == 10, "the backfill's bills were each created in BILL once"


async def test_flow_5_benchmark_times_reports_after_the_poll_and_backfills_reports(
    kafka_bootstrap: str,
) -> None:
    async with flow_stack(kafka_bootstrap, flow_name="expenses") as stack:
        rows = await measure_expenses(stack, reports=1, backfill_reports=4, budget_seconds=180.0)
        bills = [b for b in await stack.state(stack.target, "bills")
                 if str(b.get("bill_number", "")).startswith("EXP-52")]  # fmt: skip

    assert_measured(rows)
    assert [row.unit for row in rows] == ["ms", "ms", "reports/min", "jobs", "calls",
                                          "of the ceiling"]  # fmt: skip
    assert "outcomes {'applied': 1}" in rows[0].note, rows[0].note
    assert "4 of 4 reports answered" in rows[2].note, rows[2].note
    assert len(bills) == 4, "each backfilled report was booked once"


async def test_the_scale_out_benchmark_drains_four_connections_through_one_then_two_replicas(
    kafka_bootstrap: str,
) -> None:
    async with flow_stack(kafka_bootstrap) as stack:
        [row] = await measure_scale_out(stack, events=20, timeout_seconds=180.0)
        links = await stack.http.get(
            f"{stack.info.control}/api/v1/links",
            headers={"Authorization": f"Bearer {stack.info.operator_token}"},
        )

    assert_measured([row])
    assert row.unit == "x"
    # Each copy was answered once per FreshBooks connection, by one process, then by two.
    assert "each answered for 4 FreshBooks connections (80 records)" in row.note, row.note
    assert "one freshbooks process" in row.note
    assert "two" in row.note
    targets = {link["target_connection_id"] for link in links.json()["links"]}
    assert len(targets) == 4
