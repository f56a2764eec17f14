"""The fault suite's short version of R1 and R2 (``make chaos`` runs them over every flow):
flow 1's stack on a broker of its own, so the test may stop it.

- R1: every process of the stack (the edge and control plane, the bamboohr source, the
  freshbooks sink) SIGKILLed at random moments while hires flow, and started again: every
  hire is one FreshBooks team member, none missing, none twice.
- R2: the broker stopped while hires go on: the edge answers a signed delivery 503 with
  ``Retry-After``; started again, every hire lands once and no service was restarted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chaos.kills import kill_during_traffic
from chaos.outages import stop_the_broker
from devstack.stack import INGEST
from tests.e2e.flow_people_stack import PeopleFlowStack, running_flow


@pytest.fixture(scope="module")
async def flow(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PeopleFlowStack]:
    run_dir: Path = tmp_path_factory.mktemp("chaos-faults")
    async with running_flow(None, run_dir, "people-freshbooks", "freshbooks") as stack:
        yield stack


async def test_every_process_killed_at_random_moments_loses_and_doubles_nothing(
    flow: PeopleFlowStack,
) -> None:
    said: list[str] = []
    report = await kill_during_traffic(
        flow.plan, flow.info, kills=6, events=24, seed=3, say=said.append
    )

    assert report.kills == 6
    # Each process was killed at least once: the edge, the source and the sink.
    assert set(report.by_process) == {INGEST, "bamboohr", "freshbooks"}, report.by_process
    assert report.events == 24
    assert report.effects_expected == 24  # one FreshBooks team member per hire
    assert report.census.total_lost == 0, (report.census.examples, said)
    assert report.census.total_duplicated == 0, report.census.examples
    assert report.census.landed == {"FreshBooks team member": 24}


async def test_the_broker_stopped_mid_run_costs_nothing_and_restarts_no_service(
    flow: PeopleFlowStack,
) -> None:
    said: list[str] = []
    report = await stop_the_broker(
        flow.plan, flow.info, outage_seconds=12, events_before=4, seed=4, say=said.append
    )

    assert report.events_during >= 4
    # A signed delivery sent again while the broker was down: 503, come back later.
    assert report.resent_status == 503
    assert report.resent_retry_after.isdigit()
    assert report.census.total_lost == 0, (report.census.examples, said)
    assert report.census.total_duplicated == 0, report.census.examples
    assert sum(report.census.landed.values()) == report.effects_expected == report.events
    assert report.restarted == []
