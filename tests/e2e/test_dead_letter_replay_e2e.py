"""Issue 5 on the running stack: a failed FreshBooks write is dead-lettered, audited, replayed.

The stack is the one ``make up`` runs (services as processes, sandboxes over sockets,
OAuth-connected and linked), on the test session's broker. FreshBooks refuses the
invitation of a new hire until the fault is cleared; the sink then gives up on the
event, ``mlc audit`` shows why, and ``mlc replay`` writes it once the cause is fixed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from devstack.stack import StackInfo, StackPlan, start_stack, stop_stack
from mlc.app import app
from sandboxes.kit import wait_until
from services.runtime.audit_trail import LoggedEvent, read_events

runner = CliRunner()
INVITATION = "/auth/api/v1/users/invitation"


@pytest.fixture
async def stack(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[StackInfo]:
    plan = StackPlan.for_demo(
        {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DEMO_RUN_DIR": str(tmp_path)},
        ["people-freshbooks"],  # flow 1's stack alone: these tests count its writes
    )
    try:
        yield await start_stack(plan, lambda _: None)
    finally:
        await asyncio.to_thread(stop_stack, plan, lambda _: None)


async def _events(info: StackInfo, topic: str, key: str) -> list[LoggedEvent]:
    return await read_events(info.kafka, topics=[topic], keep=lambda logged: logged.key == key)


async def _backfilled(info: StackInfo, client: httpx.AsyncClient, employee_ids: set[str]) -> None:
    """``mlc connections sync`` of the BambooHR connection, answered for everyone."""
    source = info.connections["bamboohr"]
    synced = await client.post(
        f"{info.ingest}/api/v1/connections/{source}/sync",
        headers={"Authorization": f"Bearer {info.operator_token}"},
    )
    assert synced.is_success, synced.text

    async def everyone_answered() -> bool:
        outcomes = await read_events(
            info.kafka,
            topics=["sync.outcome"],
            keep=lambda logged: (logged.key or "").startswith(f"{source}:"),
        )
        return {str(o.event["entity_key"]) for o in outcomes} >= employee_ids

    await wait_until(
        everyone_answered, timeout_seconds=240, interval_seconds=1, message="the backfill"
    )


def _mlc(info: StackInfo, *args: str) -> Any:
    env = {"MLC_KAFKA_BOOTSTRAP_SERVERS": info.kafka, "MLC_DATABASE_URL": info.database_url}
    return runner.invoke(app, list(args), env=env)


async def test_a_dead_lettered_write_is_audited_and_replayed_once_the_cause_is_fixed(
    stack: StackInfo, tmp_path: Path
) -> None:
    where = orjson.loads((tmp_path / "stack.json").read_bytes())
    assert where["connections"] == stack.connections
    assert where["links"][0]["flow"] == "people-freshbooks"
    bamboohr, freshbooks = stack.sandboxes["bamboohr"], stack.sandboxes["freshbooks"]
    async with httpx.AsyncClient(timeout=30.0) as client:
        employees = (await client.get(f"{bamboohr}/_sandbox/state/employees")).json()
        # The backfill first, so the failing write below is the hire's alone.
        await _backfilled(stack, client, {str(e["id"]) for e in employees})
        fault = {"path": INVITATION, "method": "POST", "status": 500, "count": 1000}
        assert (await client.post(f"{freshbooks}/_sandbox/faults", json=fault)).is_success
        engineer = next(e for e in employees if e["department"] == "Engineering")
        hired = await client.post(
            f"{bamboohr}/_sandbox/actions/hire",
            json={
                "firstName": "Katherine",
                "lastName": "Johnson",
                "workEmail": "katherine.johnson@acmecreative.example",
                "department": "Engineering",
                "jobTitle": engineer["jobTitle"],
            },
        )
        assert hired.is_success, hired.text
        employee_id = str(hired.json()["id"])
        key = f"{stack.connections['bamboohr']}:{employee_id}"

        letters = await wait_until(
            lambda: _events(stack, "dlq.freshbooks", key),
            timeout_seconds=120,
            interval_seconds=0.5,
            message="the failed write on dlq.freshbooks",
        )
        letter = letters[0].event
        assert letter["original_topic"] == "people.employee"
        assert letter["original_key"] == key

        audit = await asyncio.to_thread(_mlc, stack, "audit", f"bamboohr:{employee_id}")
        assert audit.exit_code == 0, audit.output
        assert "webhook received from bamboohr" in audit.output
        assert "status=failed" in audit.output
        assert f"dead-lettered by freshbooks after {letter['attempts']} attempts" in audit.output

        assert (await client.delete(f"{freshbooks}/_sandbox/faults")).is_success
        original_id = str(letter["causation_id"])
        replayed = await asyncio.to_thread(_mlc, stack, "replay", original_id)
        assert replayed.exit_code == 0, replayed.output

        async def applied_after_replay() -> list[LoggedEvent]:
            replays = [
                e
                for e in await _events(stack, "people.employee", key)
                if e.event.get("causation_id") == letter["event_id"]
            ]
            replay_ids = {str(e.event["event_id"]) for e in replays}
            return [
                o
                for o in await _events(stack, "sync.outcome", key)
                if o.event.get("causation_id") in replay_ids and o.event["status"] == "applied"
            ]

        written = await wait_until(
            applied_after_replay,
            timeout_seconds=60,
            interval_seconds=0.5,
            message="the replayed event written to FreshBooks",
        )
        assert "team_member" in written[0].event["target_ids"]
        members = (await client.get(f"{freshbooks}/_sandbox/state/team_members")).json()
        emails = [m["email"] for m in members]
        assert emails.count("katherine.johnson@acmecreative.example") == 1

    again = await asyncio.to_thread(_mlc, stack, "replay", original_id)
    assert again.exit_code == 2
    assert "already replayed" in again.output
    chain = await asyncio.to_thread(_mlc, stack, "audit", f"bamboohr:{employee_id}")
    assert "replayed from its dead letter" in chain.output
    assert "written by freshbooks: invite_team_member" in chain.output
