"""The fault suite's short version of R3 (``make chaos`` runs it over every flow): vendor
storms on flow 1's running stack.

BambooHR and FreshBooks each meet a 429, a 503 and a 5xx burst while hires flow; every hire
is one FreshBooks team member. FreshBooks' refresh token is rotated on every round of hires
while two replicas of the freshbooks service consume, and the connection is never lost.
Last, FreshBooks' refresh token is revoked: the hires wait with the cause on their outcomes,
the connection shows broken, and once reconnected in place and their dead letters replayed
they land once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chaos.vendor_storms import measure_vendor_storms, storm_markdown, storm_passed
from tests.e2e.flow_people_stack import PeopleFlowStack, running_flow

ROTATIONS = 6
RECORDS = 2


@pytest.fixture(scope="module")
async def flow(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PeopleFlowStack]:
    run_dir: Path = tmp_path_factory.mktemp("chaos-storms")
    async with running_flow(kafka_bootstrap, run_dir, "people-freshbooks", "freshbooks") as stack:
        yield stack


async def test_vendor_storms_land_every_hire_once_or_leave_it_waiting_with_its_cause(
    flow: PeopleFlowStack,
) -> None:
    said: list[str] = []
    freshbooks_before = flow.info.connections["freshbooks"]
    report = await measure_vendor_storms(
        flow.plan, flow.info, say=said.append, rotations=ROTATIONS, records_per_storm=RECORDS
    )

    bursts = ("429 burst", "503 burst", "5xx burst")
    assert {(s.vendor, s.kind) for s in report.storms} == {
        *(("bamboohr", kind) for kind in bursts),
        *(("freshbooks", kind) for kind in bursts),
        ("freshbooks", "revoked token"),
    }, said
    assert report.skipped == ()
    for storm in report.storms:
        where = (storm.vendor, storm.kind, storm.examples, said)
        assert storm.records == RECORDS, where
        assert storm.effects == RECORDS, where  # one FreshBooks team member per hire
        assert storm.fired > 0, where  # the sandbox really refused something
        assert storm.lost == 0, where
        assert storm.duplicated == 0, where
        if storm.kind in bursts:
            assert storm.landed_once == RECORDS, where
            assert storm.waiting_with_cause == 0, where

    [revoked] = [s for s in report.storms if s.kind == "revoked token"]
    assert revoked.landed_once == 0, revoked
    assert revoked.waiting_with_cause == RECORDS, revoked
    assert revoked.connection_status == "broken", revoked
    assert "broken" in revoked.cause, revoked
    # Reconnected in place: the same connection and links, its dead letters replayed.
    assert flow.info.connections["freshbooks"] == freshbooks_before
    assert revoked.landed_after_reconnect == RECORDS, (revoked, said)

    rotation = report.rotation
    assert rotation is not None
    assert rotation.replicas == ("freshbooks", "freshbooks-2")
    assert rotation.rotations >= ROTATIONS, (rotation, said)
    assert rotation.refresh_refused == 0, rotation
    assert not rotation.connection_lost, rotation
    assert rotation.records == 2 * ROTATIONS
    assert rotation.landed_once == rotation.records, (rotation, said)
    assert rotation.duplicated == 0
    assert rotation.lost == 0
    # Both replicas wrote: the refreshes were met by whichever held the record.
    assert all(n > 0 for n in rotation.writes_by_replica.values()), rotation.writes_by_replica

    assert storm_passed(report)
    page = storm_markdown(report)
    assert page[0] == "## R3: vendor storms"
    assert sum(1 for line in page if line.endswith("| met |")) == len(report.storms) + 1
    assert not any("MISSED" in line for line in page)
