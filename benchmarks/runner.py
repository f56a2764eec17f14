"""One benchmark run: every benchmark in turn, the report written at the end.

The CPU-only benchmarks run before the broker starts, so the JVM's start-up
does not share their cores. A benchmark that raises becomes a ``failed`` row
and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from benchmarks.codec import measure_codec
from benchmarks.console_pages import measure_console
from benchmarks.consume_throughput import measure_consume
from benchmarks.consumer_memory import measure_consumer_memory
from benchmarks.edge_throughput import measure_edge
from benchmarks.flow_acumatica import ACUMATICA_BACKFILL, ACUMATICA_LATENCY
from benchmarks.flow_ap_bill import measure_ap_bill
from benchmarks.flow_backfill import FRESHBOOKS as FRESHBOOKS_BACKFILL
from benchmarks.flow_backfill import BackfillCase, measure_backfill
from benchmarks.flow_expenses import measure_expenses
from benchmarks.flow_freshness import measure_freshness
from benchmarks.flow_latency import FRESHBOOKS as FRESHBOOKS_LATENCY
from benchmarks.flow_latency import LatencyCase, measure_webhook_to_write
from benchmarks.flow_replay import measure_replay
from benchmarks.flow_scale_out import measure_scale_out
from benchmarks.flow_stack import WORKER_SETTINGS, flow_stack
from benchmarks.flow_zoho import ZOHO_BACKFILL, ZOHO_LATENCY
from benchmarks.kafka import (
    bench_topic,
    connected_broker,
    fill_topic,
    kafka_under_test,
    quiet_message_logs,
)
from benchmarks.ledger_claims import measure_ledger
from benchmarks.machine import describe_machine
from benchmarks.publish_throughput import measure_publish
from benchmarks.report import Report, render_table
from benchmarks.results import Measurement, failed
from benchmarks.sandbox_requests import measure_sandbox_in_process, measure_sandbox_over_socket
from benchmarks.service_footprint import measure_footprint
from benchmarks.vault_roundtrip import measure_vault

__all__ = ["FULL", "GROUPS", "QUICK", "Sizes", "run_benchmarks"]

GROUPS: Final = ("spine", "edge", "flows", "freshness")
"""What ``--only`` can pick: the spine's benchmarks (codec to console pages), the webhook
edge against a bare endpoint, flows 1 to 5 (a stack each, the timed changes and a
backfill), flow 1's freshness with limits off."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each benchmark does.

    The spine's benchmarks take about three minutes; flows 1 to 5 each add their stack
    (about a minute to start and finish its own first sync), the timed changes and the
    backfill's time budget.
    """

    codec_operations: int
    vault_operations: int
    ledger_claims: int
    sandbox_requests: int
    sandbox_socket_requests: int
    publish_events: int
    publish_concurrency: int
    consume_backlog: int
    latency_samples: int
    memory_backlog: int
    flow_changes_per_second: float
    flow_change_seconds: float
    backfill_employees: int
    backfill_budget_seconds: float
    zoho_changes_per_second: float
    zoho_change_seconds: float
    zoho_backfill_employees: int
    zoho_backfill_budget_seconds: float
    acumatica_changes_per_second: float
    acumatica_change_seconds: float
    acumatica_backfill_employees: int
    acumatica_backfill_budget_seconds: float
    ap_bills_per_second: float
    ap_bill_seconds: float
    ap_payments_per_second: float
    ap_backfill_bills: int
    ap_backfill_budget_seconds: float
    expense_reports: int
    expense_backfill_reports: int
    expense_backfill_budget_seconds: float
    console_outcomes: int
    freshness_changes_per_second: float
    freshness_seconds: float
    edge_deliveries: int
    edge_concurrency: int
    replay_events: int
    replay_timeout_seconds: float
    scale_out_events: int


FULL = Sizes(
    codec_operations=50_000,
    vault_operations=50_000,
    ledger_claims=2_000,
    sandbox_requests=1_000,
    sandbox_socket_requests=300,
    publish_events=3_000,
    publish_concurrency=32,
    consume_backlog=3_000,
    latency_samples=200,
    memory_backlog=10_000,
    flow_changes_per_second=1.0,
    flow_change_seconds=60.0,
    backfill_employees=10_000,
    backfill_budget_seconds=300.0,
    zoho_changes_per_second=0.25,
    zoho_change_seconds=60.0,
    zoho_backfill_employees=2_000,
    zoho_backfill_budget_seconds=300.0,
    acumatica_changes_per_second=1.0,
    acumatica_change_seconds=60.0,
    acumatica_backfill_employees=2_000,
    acumatica_backfill_budget_seconds=300.0,
    ap_bills_per_second=0.5,
    ap_bill_seconds=60.0,
    ap_payments_per_second=0.5,
    ap_backfill_bills=1_000,
    ap_backfill_budget_seconds=600.0,
    expense_reports=15,
    expense_backfill_reports=500,
    expense_backfill_budget_seconds=900.0,
    console_outcomes=100_000,
    freshness_changes_per_second=50.0,
    freshness_seconds=60.0,
    edge_deliveries=5_000,
    edge_concurrency=32,
    replay_events=10_000,
    replay_timeout_seconds=900.0,
    scale_out_events=2_000,
)
QUICK = Sizes(
    codec_operations=2_000,
    vault_operations=2_000,
    ledger_claims=100,
    sandbox_requests=50,
    sandbox_socket_requests=20,
    publish_events=200,
    publish_concurrency=8,
    consume_backlog=300,
    latency_samples=20,
    memory_backlog=500,
    flow_changes_per_second=1.0,
    flow_change_seconds=3.0,
    backfill_employees=20,
    backfill_budget_seconds=120.0,
    zoho_changes_per_second=0.5,
    zoho_change_seconds=4.0,
    zoho_backfill_employees=20,
    zoho_backfill_budget_seconds=120.0,
    acumatica_changes_per_second=1.0,
    acumatica_change_seconds=3.0,
    acumatica_backfill_employees=20,
    acumatica_backfill_budget_seconds=120.0,
    ap_bills_per_second=1.0,
    ap_bill_seconds=3.0,
    ap_payments_per_second=1.0,
    ap_backfill_bills=20,
    ap_backfill_budget_seconds=120.0,
    expense_reports=2,
    expense_backfill_reports=10,
    expense_backfill_budget_seconds=120.0,
    console_outcomes=2_000,
    freshness_changes_per_second=5.0,
    freshness_seconds=3.0,
    edge_deliveries=200,
    edge_concurrency=8,
    replay_events=200,
    replay_timeout_seconds=120.0,
    scale_out_events=40,
)


def _say(text: str) -> None:
    print(f"==> {text}", flush=True)


async def _guarded(
    name: str, measure: Callable[[], Awaitable[list[Measurement]]]
) -> list[Measurement]:
    _say(name)
    started = time.perf_counter()
    try:
        rows = await measure()
    except Exception as exc:
        # One broken benchmark must not hide the others' results.
        return [failed(name, exc)]
    _say(f"{name}: {time.perf_counter() - started:.1f} s")
    return rows


async def _sync(rows: list[Measurement]) -> list[Measurement]:
    return rows


async def run_benchmarks(
    sizes: Sizes,
    *,
    command: str,
    with_postgres: bool = True,
    groups: Collection[str] = GROUPS,
) -> Report:
    """Run the benchmarks of ``groups`` (:data:`GROUPS`) with ``sizes`` and print the table;
    the report is returned."""
    unknown = set(groups) - set(GROUPS)
    if unknown:
        msg = f"unknown benchmark group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}"
        raise ValueError(msg)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    machine = describe_machine()
    quiet_message_logs()
    rows: list[Measurement] = []
    if "spine" in groups:
        rows += await _measure_spine_cpu(sizes, with_postgres=with_postgres)
    _say("starting Kafka (or using KAFKA_BOOTSTRAP_SERVERS)")
    kafka_description = "not started"
    try:
        async with kafka_under_test() as kafka:
            kafka_description = kafka.description
            if "spine" in groups:
                rows += await _measure_spine_kafka(kafka.bootstrap, sizes)
            if "edge" in groups:
                rows += await _guarded(
                    "the webhook edge against a bare uvicorn endpoint",
                    lambda: measure_edge(
                        kafka.bootstrap,
                        deliveries=sizes.edge_deliveries,
                        concurrency=sizes.edge_concurrency,
                    ),
                )
            if "flows" in groups:
                rows += await _measure_flow(kafka.bootstrap, sizes)
            if "freshness" in groups:
                rows += await _guarded(
                    "flow 1 freshness with the vendors' limits off",
                    lambda: measure_freshness(
                        kafka.bootstrap,
                        per_second=sizes.freshness_changes_per_second,
                        seconds=sizes.freshness_seconds,
                    ),
                )
    except Exception as exc:
        # The broker failing to start is a result too.
        rows.append(failed("Kafka broker", exc))

    report = Report(
        measurements=rows,
        machine=machine.rows(kafka=kafka_description),
        started_at=started_at,
        duration_s=time.perf_counter() - started,
        command=command,
    )
    print()
    print(render_table(rows))
    return report


async def _measure_spine_cpu(sizes: Sizes, *, with_postgres: bool) -> list[Measurement]:
    """The CPU-only benchmarks, before the broker's JVM shares the cores."""
    rows: list[Measurement] = []
    rows += await _guarded(
        "encode/decode", lambda: _sync(measure_codec(count=sizes.codec_operations))
    )
    rows += await _guarded("vault", lambda: _sync(measure_vault(count=sizes.vault_operations)))
    rows += await _guarded(
        "ledger claims",
        lambda: measure_ledger(count=sizes.ledger_claims, with_postgres=with_postgres),
    )
    rows += await _guarded(
        "BambooHR sandbox in process",
        lambda: measure_sandbox_in_process(count=sizes.sandbox_requests),
    )
    rows += await _guarded(
        "BambooHR sandbox over a socket",
        lambda: measure_sandbox_over_socket(count=sizes.sandbox_socket_requests),
    )

    return rows


async def _measure_spine_kafka(bootstrap: str, sizes: Sizes) -> list[Measurement]:
    """The spine's benchmarks on the broker: publishing, consuming, the console's pages."""
    rows: list[Measurement] = []
    rows += await _guarded(
        "publish",
        lambda: measure_publish(
            bootstrap, events=sizes.publish_events, concurrency=sizes.publish_concurrency
        ),
    )
    rows += await _measure_backlog(bootstrap, sizes)
    rows += await _guarded(
        "console pages", lambda: measure_console(bootstrap, outcomes=sizes.console_outcomes)
    )
    return rows


async def _measure_backlog(bootstrap: str, sizes: Sizes) -> list[Measurement]:
    """The consumer benchmarks, each draining a topic filled before it starts.

    Two topics, so the latency samples never queue behind a backlog still being drained.
    """
    rows: list[Measurement] = []
    async with (
        bench_topic(bootstrap, "consume") as consume_topic,
        bench_topic(bootstrap, "memory") as memory_topic,
    ):
        _say(
            f"filling two topics with {sizes.consume_backlog:,} and {sizes.memory_backlog:,} events"
        )
        try:
            async with connected_broker(bootstrap) as broker:
                await fill_topic(broker, consume_topic, count=sizes.consume_backlog)
                await fill_topic(broker, memory_topic, count=sizes.memory_backlog)
        except Exception as exc:
            # Reported as the consumers' failure, with the error.
            return [failed("filling the backlog topics", exc)]
        rows += await _guarded(
            "consume",
            lambda: measure_consume(
                bootstrap,
                consume_topic,
                backlog=sizes.consume_backlog,
                latency_samples=sizes.latency_samples,
            ),
        )
        rows += await _guarded(
            "consumer memory",
            lambda: measure_consumer_memory(bootstrap, memory_topic, count=sizes.memory_backlog),
        )
    return rows


async def _measure_flow(bootstrap: str, sizes: Sizes) -> list[Measurement]:
    """Flows 1 to 5 end to end, each on its own stack: the timed changes first, then the
    backfill, which starts once the changes were all written so neither measures the other.
    """
    flow_1 = _FlowRun(
        name="people-freshbooks",
        title="flow 1",
        services="bamboohr, freshbooks",
        latency=FRESHBOOKS_LATENCY,
        backfill=FRESHBOOKS_BACKFILL,
        changes_per_second=sizes.flow_changes_per_second,
        change_seconds=sizes.flow_change_seconds,
        employees=sizes.backfill_employees,
        budget_seconds=sizes.backfill_budget_seconds,
        replay_events=sizes.replay_events,
        replay_timeout_seconds=sizes.replay_timeout_seconds,
    )
    flow_2 = _FlowRun(
        name="people-zoho",
        title="flow 2",
        services="bamboohr, zoho",
        latency=ZOHO_LATENCY,
        backfill=ZOHO_BACKFILL,
        changes_per_second=sizes.zoho_changes_per_second,
        change_seconds=sizes.zoho_change_seconds,
        employees=sizes.zoho_backfill_employees,
        budget_seconds=sizes.zoho_backfill_budget_seconds,
        replay_events=sizes.replay_events,
        replay_timeout_seconds=sizes.replay_timeout_seconds,
    )
    flow_3 = _FlowRun(
        name="people-acumatica",
        title="flow 3",
        services="bamboohr, acumatica",
        latency=ACUMATICA_LATENCY,
        backfill=ACUMATICA_BACKFILL,
        changes_per_second=sizes.acumatica_changes_per_second,
        change_seconds=sizes.acumatica_change_seconds,
        employees=sizes.acumatica_backfill_employees,
        budget_seconds=sizes.acumatica_backfill_budget_seconds,
        replay_events=sizes.replay_events,
        replay_timeout_seconds=sizes.replay_timeout_seconds,
    )
    rows: list[Measurement] = []
    for run in (flow_1, flow_2, flow_3):
        rows += await _measure_one_flow(bootstrap, run)
    rows += await _measure_scale_out(bootstrap, sizes)
    rows += await _measure_ap_bill(bootstrap, sizes)
    rows += await _measure_expenses(bootstrap, sizes)
    return rows


async def _measure_scale_out(bootstrap: str, sizes: Sizes) -> list[Measurement]:
    """Flow 1 on a stack of its own (it adds connections and a replica): goal 5. One worker
    a process, as the Kubernetes manifests run it: there replicas are what scales."""
    _say("starting flow 1's stack for scale-out (4 FreshBooks connections, then 2 replicas)")
    try:
        async with flow_stack(bootstrap) as stack:
            return await _guarded(
                "flow 1: scale-out over two sink replicas",
                lambda: measure_scale_out(
                    stack,
                    events=sizes.scale_out_events,
                    timeout_seconds=sizes.replay_timeout_seconds,
                ),
            )
    except Exception as exc:
        # The stack not starting (or not stopping) is a result too.
        return [failed("flow 1 scale-out stack", exc)]


async def _measure_expenses(bootstrap: str, sizes: Sizes) -> list[Measurement]:
    """Flow 5 on its stack: reports booked after the poll, then the backfill."""
    _say("starting flow 5's stack (sandboxes, ingest, expensify, freshbooks, consent, link)")
    try:
        async with flow_stack(bootstrap, flow_name="expenses") as stack:
            rows = await _guarded(
                f"flow 5: reports and a backfill of {sizes.expense_backfill_reports:,} reports",
                lambda: measure_expenses(
                    stack,
                    reports=sizes.expense_reports,
                    backfill_reports=sizes.expense_backfill_reports,
                    budget_seconds=sizes.expense_backfill_budget_seconds,
                ),
            )
            rows += await _guarded(
                "flow 5: memory of each service",
                lambda: _sync(
                    measure_footprint(
                        stack,
                        "flow 5",
                        work=f"a backfill of {sizes.expense_backfill_reports:,} reports",
                    )
                ),
            )
            return rows
    except Exception as exc:
        # The stack not starting (or not stopping) is a result too.
        return [failed("flow 5 stack", exc)]


async def _measure_ap_bill(bootstrap: str, sizes: Sizes) -> list[Measurement]:
    """Flow 4 on its stack: bills to BILL, payments back, then the backfill."""
    _say("starting flow 4's stack (sandboxes, ingest, freshbooks, bill, consent, link)")
    try:
        async with flow_stack(bootstrap, flow_name="ap-bill") as stack:
            rows = await _guarded(
                f"flow 4: bills, payments and a backfill of {sizes.ap_backfill_bills:,} bills",
                lambda: measure_ap_bill(
                    stack,
                    bills_per_second=sizes.ap_bills_per_second,
                    bill_seconds=sizes.ap_bill_seconds,
                    payments_per_second=sizes.ap_payments_per_second,
                    backfill_bills=sizes.ap_backfill_bills,
                    budget_seconds=sizes.ap_backfill_budget_seconds,
                ),
            )
            rows += await _guarded(
                "flow 4: memory of each service",
                lambda: _sync(
                    measure_footprint(
                        stack,
                        "flow 4",
                        work=f"bills, payments and a backfill of {sizes.ap_backfill_bills:,} bills",
                    )
                ),
            )
            return rows
    except Exception as exc:
        # The stack not starting (or not stopping) is a result too.
        return [failed("flow 4 stack", exc)]


@dataclass(frozen=True, slots=True)
class _FlowRun:
    name: str
    title: str
    services: str
    latency: LatencyCase
    backfill: BackfillCase
    changes_per_second: float
    change_seconds: float
    employees: int
    budget_seconds: float
    replay_events: int
    replay_timeout_seconds: float


async def _measure_one_flow(bootstrap: str, run: _FlowRun) -> list[Measurement]:
    rows: list[Measurement] = []
    _say(f"starting {run.title}'s stack (sandboxes, ingest, {run.services}, consent, link)")
    try:
        async with flow_stack(bootstrap, flow_name=run.name, settings=WORKER_SETTINGS) as stack:
            rows += await _guarded(
                f"{run.latency.label}",
                lambda: measure_webhook_to_write(
                    stack,
                    run.latency,
                    per_second=run.changes_per_second,
                    seconds=run.change_seconds,
                ),
            )
            rows += await _guarded(
                f"{run.title}: replay of {run.replay_events:,} applied events",
                lambda: measure_replay(
                    stack,
                    label=run.title,
                    events=run.replay_events,
                    timeout_seconds=run.replay_timeout_seconds,
                    people_path=run.backfill.people_path,
                ),
            )
            rows += await _guarded(
                f"{run.title}: backfill of {run.employees:,} employees",
                lambda: measure_backfill(
                    stack, run.backfill, employees=run.employees, budget_seconds=run.budget_seconds
                ),
            )
            rows += await _guarded(
                f"{run.title}: memory of each service",
                lambda: _sync(
                    measure_footprint(
                        stack,
                        run.title,
                        work=f"the timed changes and a backfill of {run.employees:,} employees",
                    )
                ),
            )
    except Exception as exc:
        # The stack not starting (or not stopping) is a result too.
        rows.append(failed(f"{run.title} stack", exc))
    return rows
