"""The fault suite's short version of R6 and of R2's store half (``make chaos`` runs them
over every flow): flow 1's stack on a PostgreSQL cluster of its own, so a test may cut
its sessions and stop it.

- R6: a second process of the bamboohr and freshbooks services shares the consumer
  groups and the store while every store session is terminated again and again: every
  hire is one FreshBooks team member, and no process had to be restarted.
- R2: the store stopped while hires go on: the edge answers a signed delivery 503 with
  ``Retry-After``; started again, every hire lands once and nothing was restarted.
- R4 on PostgreSQL: hostile requests get no 5xx from it either (it refuses strings SQLite
  takes, such as one with a NUL).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from chaos.hostile_requests import send_hostile
from chaos.outages import stop_the_store
from chaos.postgres_store import PostgresServer
from chaos.run import doors_of
from chaos.store_faults import drop_store_connections
from devstack.ports import free_port
from devstack.stack import ROOT
from tests.e2e.flow_people_stack import PeopleFlowStack, running_flow


@pytest.fixture(scope="module")
async def store(postgres_server_url: str) -> AsyncIterator[PostgresServer]:
    """A cluster of the module's own (the session's PostgreSQL fixture made sure the server
    is installed): stopping it touches no other test."""
    del postgres_server_url
    # Under .cache/, not the test's tmp dir: as root the server runs as 'postgres'.
    server = PostgresServer(ROOT / ".cache" / f"postgres-chaos-{uuid.uuid4().hex[:8]}", free_port())
    await server.start(fresh=True)
    try:
        yield server
    finally:
        await server.remove()


@pytest.fixture(scope="module")
async def flow(
    kafka_bootstrap: str, store: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PeopleFlowStack]:
    run_dir = tmp_path_factory.mktemp("chaos-store")
    async with running_flow(
        kafka_bootstrap, run_dir, "people-freshbooks", "freshbooks", store_url=store.url
    ) as stack:
        yield stack


async def test_two_replicas_with_their_store_sessions_cut_lose_and_double_nothing(
    flow: PeopleFlowStack, store: PostgresServer
) -> None:
    said: list[str] = []
    report = await drop_store_connections(
        flow.plan, flow.info, store, drops=5, events=20, seed=6, say=said.append
    )

    assert sorted(report.replicas) == ["bamboohr-2", "freshbooks-2"]
    # Every service process and the edge held sessions that were cut.
    assert report.sessions_dropped >= 5
    assert report.census.total_lost == 0, (report.census.examples, said)
    assert report.census.total_duplicated == 0, report.census.examples
    assert report.census.landed == {"FreshBooks team member": 20}
    assert report.restarted == []


async def test_the_store_stopped_mid_run_costs_nothing_and_restarts_no_service(
    flow: PeopleFlowStack, store: PostgresServer
) -> None:
    said: list[str] = []
    report = await stop_the_store(
        flow.plan, flow.info, store, outage_seconds=10, events_before=4, seed=7, say=said.append
    )

    assert report.events_during >= 3
    assert report.resent_status == 503, said
    assert report.resent_retry_after.isdigit()
    assert report.census.total_lost == 0, (report.census.examples, said)
    assert report.census.total_duplicated == 0, report.census.examples
    assert sum(report.census.landed.values()) == report.effects_expected == report.events
    assert report.restarted == []


async def test_hostile_requests_get_no_5xx_from_a_postgresql_store(flow: PeopleFlowStack) -> None:
    report = await send_hostile(doors_of(flow.info), 800, seed=8)

    assert report.sent >= 800
    assert report.server_errors == 0, report.examples
    assert report.unclear_refusals == 0, report.examples
