"""Operating flow 1's running stack: every process's ops port, and one hire's trace.

The stack (``devstack.stack``: the edge with the control plane, ``bamboohr`` and
``freshbooks`` as processes, both sandboxes, the worker's Kafka) starts with
``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at an in-memory OTLP collector of this module.

- Each process answers ``/livez``, ``/readyz`` (once it holds partitions) and
  ``/metrics``, and its metrics count what the hire made it do.
- The hire's trace runs from the webhook request at the edge through Kafka into both
  services and down to the FreshBooks call, and names the chain ``mlc audit`` shows.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack.stack import ops_url
from sandboxes.kit import wait_until
from tests.e2e.flow_people_stack import PeopleFlowStack, running_flow, said
from tests.e2e.otlp_collector import OtlpCollector, running_collector

SERVER = 2  # OTLP span kinds: SPAN_KIND_SERVER
CLIENT = 3
TRACED = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "",  # set to the collector's URL below
    "OTEL_BSP_SCHEDULE_DELAY": "200",  # export every 0.2 s, not 5 s
}

Sample = tuple[str, dict[str, str], float]


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpCollector]:
    with running_collector() as running:
        yield running


@pytest.fixture(scope="module")
async def flow(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, collector: OtlpCollector
) -> AsyncIterator[PeopleFlowStack]:
    run_dir = tmp_path_factory.mktemp("operations-stack")
    traced = {**TRACED, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
    before = {name: os.environ.get(name) for name in traced}
    os.environ.update(traced)  # the stack's processes inherit the OS environment
    try:
        async with running_flow(
            kafka_bootstrap, run_dir, "people-freshbooks", "freshbooks"
        ) as stack:
            _restore(before)  # started: nothing else of this worker should trace
            yield stack
    finally:
        _restore(before)


def _restore(before: dict[str, str | None]) -> None:
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
async def neutral(flow: PeopleFlowStack) -> None:
    await flow.neutral()


def _ops(flow: PeopleFlowStack) -> dict[str, str]:
    """Each process's ops URL, read from its log now (a restarted one has a new port)."""
    found = {name: ops_url(process.log) for name, (process, _) in flow.started.items()}
    return {**flow.info.ops, **{name: url for name, url in found.items() if url}}


async def _samples(http: httpx.AsyncClient, url: str) -> list[Sample]:
    answer = await http.get(f"{url}/metrics")
    answer.raise_for_status()
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    ]


def _total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        value
        for found, have, value in samples
        if found == name and all(have.get(k) == v for k, v in labels.items())
    )


async def test_every_process_is_live_ready_and_counts_what_a_hire_made_it_do(
    flow: PeopleFlowStack,
) -> None:
    ops = _ops(flow)
    assert set(ops) == {"ingest", "bamboohr", "freshbooks"}, ops
    for name, url in ops.items():
        assert (await flow.http.get(f"{url}/livez")).status_code == 200, name

        async def ready(url: str = url) -> bool:
            return (await flow.http.get(f"{url}/readyz")).status_code == 200

        await wait_until(ready, timeout_seconds=60, message=f"{name} ready")

    employee_id = await flow.hire("Ada", "Metric", "Engineering", "Software Engineer")
    hired = await flow.answered(employee_id, lambda _: True, message="the hire written")
    assert hired["status"] == "applied", said(hired)
    [link] = flow.info.links

    edge = await _samples(flow.http, ops["ingest"])
    accepted = {"vendor": "bamboohr", "result": "accepted"}
    assert _total(edge, "mlc_webhooks_total", **accepted) >= 1

    source = await _samples(flow.http, ops["bamboohr"])
    assert _total(source, "faststream_received_messages_total", app_name="bamboohr") >= 1
    assert _total(source, "mlc_vendor_calls_total", vendor="bamboohr", status="200") >= 1

    sink = await _samples(flow.http, ops["freshbooks"])
    assert _total(sink, "faststream_received_messages_total", app_name="freshbooks") >= 1
    written = {"service": "freshbooks", "link": link["id"], "status": "applied"}
    assert _total(sink, "mlc_outcomes_total", **written) >= 1
    assert _total(sink, "mlc_vendor_calls_total", vendor="freshbooks", method="POST") >= 1
    budget = [s for s in sink if s[0] == "mlc_vendor_budget_use_ratio"]
    assert budget
    assert all(0 <= value <= 1 for *_, value in budget), budget
    for _, labels, _ in sink:  # bounded labels: no record id anywhere
        assert employee_id not in labels.values(), labels

    async def lag_and_freshness() -> bool:
        sink = await _samples(flow.http, ops["freshbooks"])
        control = await _samples(flow.http, ops["ingest"])
        lag = [s for s in sink if s[0] == "mlc_consumer_lag_messages"]
        fresh = [
            s
            for s in control
            if s[0] == "mlc_link_last_outcome_timestamp_seconds" and s[1]["link"] == link["id"]
        ]
        return (
            bool(lag) and all(s[1]["group"].startswith("freshbooks") for s in lag) and bool(fresh)
        )

    # The lag and control samplers run every 15 s.
    await wait_until(lag_and_freshness, timeout_seconds=40, message="lag and freshness sampled")


async def test_a_hires_trace_runs_from_the_webhook_through_every_service_to_freshbooks(
    flow: PeopleFlowStack, collector: OtlpCollector
) -> None:
    employee_id = await flow.hire("Grace", "Trace", "Engineering", "Software Engineer")
    hired = await flow.answered(employee_id, lambda _: True, message="the hire written")
    assert hired["status"] == "applied", said(hired)
    chain = str(hired["correlation_id"])

    def trace_of_chain() -> list[Any] | None:
        spans = collector.snapshot()
        starts = [
            s
            for s in spans
            if s.service == "mlc-ingest" and s.attributes.get("mlc.correlation_id") == chain
        ]
        if not starts:
            return None
        trace = [s for s in spans if s.trace_id == starts[0].trace_id]
        every = {"mlc-ingest", "mlc-bamboohr", "mlc-freshbooks"}
        # A span is exported when it ends: a consume span after the calls inside it, so the
        # wait is for every service's Kafka spans, not only for the first of each.
        kafka = {s.service for s in trace if "messaging.message.conversation_id" in s.attributes}
        vendor_calls = [s for s in trace if s.service == "mlc-freshbooks" and s.kind == CLIENT]
        return trace if kafka >= every and vendor_calls else None

    async def collected() -> list[Any] | None:
        return await asyncio.to_thread(trace_of_chain)

    trace = await wait_until(collected, timeout_seconds=60, message="the hire's whole trace")
    [request] = [s for s in trace if s.service == "mlc-ingest" and s.kind == SERVER]
    assert request.parent_id == ""  # the webhook request is where the trace begins
    kafka = [s for s in trace if "messaging.message.conversation_id" in s.attributes]
    assert {s.service for s in kafka} >= {"mlc-ingest", "mlc-bamboohr", "mlc-freshbooks"}
    # Every Kafka hop names the same chain as `mlc audit`.
    assert {s.attributes["messaging.message.conversation_id"] for s in kafka} == {chain}
    calls = [s for s in trace if s.kind == CLIENT and s.service == "mlc-freshbooks"]
    hosts = {str(s.attributes.get("url.full") or s.attributes.get("http.url")) for s in calls}
    assert any(url.startswith(flow.freshbooks) for url in hosts), hosts
