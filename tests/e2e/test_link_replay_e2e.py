"""Issue 19 on the running flow-1 stack: writes that failed until their cause was fixed are
re-driven by ``mlc replay --link --since``, once; a dry run afterwards writes nothing.

The stack is ``make up``'s for flow 1 (services as processes, sandboxes over sockets, the
operator API on the ingest's port) on the test session's broker. FreshBooks refuses every
invitation while three people are hired, so their writes end on ``dlq.freshbooks``; the
fault is cleared and the link replayed from before the hires through the operator API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from mlc.app import app
from sandboxes.kit import wait_until
from tests.e2e.flow_people_stack import PeopleFlowStack, running_flow

runner = CliRunner()
INVITATION = "/auth/api/v1/users/invitation"
PEOPLE = (("Grace", "Hopper"), ("Alan", "Turing"), ("Ada", "Lovelace"))


@pytest.fixture(scope="module")
async def flow(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PeopleFlowStack]:
    run_dir = tmp_path_factory.mktemp("link-replay")
    async with running_flow(kafka_bootstrap, run_dir, "people-freshbooks", "freshbooks") as up:
        yield up


def _mlc(flow: PeopleFlowStack, *args: str) -> tuple[int, Any]:
    env = {"MLC_OPERATOR_URL": flow.info.ingest, "MLC_OPERATOR_TOKEN": flow.info.operator_token}
    result = runner.invoke(app, [*args, "--json"], env=env)
    try:
        return result.exit_code, orjson.loads(result.stdout)
    except orjson.JSONDecodeError:
        return result.exit_code, result.output


async def test_failed_writes_are_replayed_once_from_the_log_and_a_dry_run_then_writes_nothing(
    flow: PeopleFlowStack,
) -> None:
    [link] = [entry["id"] for entry in flow.info.links]
    since = datetime.now(UTC).isoformat()
    await flow.control(
        flow.freshbooks,
        "faults",
        {"path": INVITATION, "method": "POST", "status": 500, "count": 10_000},
    )
    [engineer] = [
        e for e in await flow.state(flow.bamboohr, "employees") if e["department"] == "Engineering"
    ][:1]
    hired = [
        await flow.hire(first, last, "Engineering", engineer["jobTitle"]) for first, last in PEOPLE
    ]

    async def all_dead_lettered() -> bool:
        for employee_id in hired:
            if not await flow.events("dlq.freshbooks", flow.source, employee_id):
                return False
        return True

    await wait_until(
        all_dead_lettered, timeout_seconds=180, interval_seconds=1, message="three dead letters"
    )
    answered = await flow.http.delete(f"{flow.freshbooks}/_sandbox/faults")
    assert answered.is_success

    code, replay = await asyncio.to_thread(_mlc, flow, "replay", "--link", link, "--since", since)

    assert code == 0, replay
    assert replay["state"] == "finished"
    assert replay["totals"] == {"records": 3, "done": 3, "applied": 3}
    for first, last in PEOPLE:
        assert len(await flow.team_members(flow.email(first, last))) == 1, last
    for employee_id in hired:
        outcomes = await flow.outcomes(employee_id, flow.source)
        assert [o["status"] for o in outcomes][-1] == "applied"

    writes_before = len((await flow.http.get(f"{flow.freshbooks}/_sandbox/requests")).json())
    code, dry = await asyncio.to_thread(
        _mlc, flow, "replay", "--link", link, "--since", since, "--dry-run"
    )
    assert code == 0, dry
    assert {row["status"] for row in dry["plan"]} == {"unchanged"}
    assert sorted(row["record"] for row in dry["plan"]) == sorted(
        f"{flow.source}:{employee_id}" for employee_id in hired
    )
    requests = (await flow.http.get(f"{flow.freshbooks}/_sandbox/requests")).json()
    assert not [r for r in requests[writes_before:] if r["method"] != "GET"], "a dry run wrote"
