"""Link replays on the operator API (in-process, real SQLite store; Kafka's offsets are the
one edge played here: a resolver that answers fixed ranges)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.control.connections import OperatorConnections
from services.control.operator_api import operator_app
from services.control.replays import LinkReplays
from services.runtime.log_range import LogPoint
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from services.vendors import VENDORS

TOKEN = "replay-api-token"
SINKS = {"people-zoho": [("bamboohr", "people.department"), ("zoho", "people.employee")]}


class FixedRanges:
    """What the cluster would answer: partitions 0 and 1, from 3 (or 0) to 10."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, LogPoint, LogPoint]] = []

    async def __call__(
        self, topic: str, since: LogPoint, until: LogPoint
    ) -> tuple[dict[int, int], dict[int, int]]:
        self.asked.append((topic, since, until))
        first = 0 if since.kind == "beginning" else 3
        return {0: first, 1: first}, {0: 10, 1: 10}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    yield opened
    await opened.close()


async def _link(store: StateStore, *, enabled: bool = True) -> str:
    async with store.transaction() as repos:
        source = await repos.connections.create(vendor="bamboohr", tenant_id="t", display_name="H")
        target = await repos.connections.create(vendor="zoho", tenant_id="t", display_name="B")
        link = await repos.links.create(
            source_connection_id=source.id,
            target_connection_id=target.id,
            flow="people-zoho",
            enabled=enabled,
        )
    return link.id


def _api(store: StateStore, replays: LinkReplays | None) -> httpx.AsyncClient:
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    app = operator_app(
        store, OperatorConnections(store, vault), operator_token=TOKEN, replays=replays
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://control.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


async def test_a_replay_is_asked_with_its_range_fixed_per_part_and_audited(
    store: StateStore,
) -> None:
    link = await _link(store)
    ranges = FixedRanges()
    replays = LinkReplays(store, resolve=ranges, sinks=SINKS, vendors=VENDORS)
    async with _api(store, replays) as api:
        asked = await api.post(
            f"/api/v1/links/{link}/replays",
            json={"since": "2h", "entity": "bamboohr:4711", "requested_by": "ops"},
        )
        shown = await api.get(f"/api/v1/replays/{asked.json()['id']}")
        listed = await api.get(f"/api/v1/links/{link}/replays")
        plan = await api.get(f"/api/v1/replays/{asked.json()['id']}/plan")

    assert asked.status_code == 202, asked.text
    replay = asked.json()
    assert (replay["state"], replay["dry_run"], replay["entity"]) == (
        "running",
        False,
        "bamboohr:4711",
    )
    assert [(p["service"], p["topic"], p["state"]) for p in replay["parts"]] == [
        ("bamboohr", "people.department", "waiting"),
        ("zoho", "people.employee", "waiting"),
    ]
    assert replay["parts"][0]["start_offsets"] == {"0": 3, "1": 3}
    assert [topic for topic, _, _ in ranges.asked] == ["people.department", "people.employee"]
    assert shown.json() == replay
    assert [r["id"] for r in listed.json()["replays"]] == [replay["id"]]
    assert plan.json()["writes"] == []
    async with store.transaction() as repos:
        [audited] = await repos.audit_log.list(subject=link)
    assert (audited.actor, audited.action) == ("ops", "replay.requested")
    assert audited.detail["records_at_most"] == 2 * 2 * 7


async def test_bad_input_is_answered_4xx_and_nothing_is_asked(store: StateStore) -> None:
    link = await _link(store)
    replays = LinkReplays(store, resolve=FixedRanges(), sinks=SINKS, vendors=VENDORS)
    async with _api(store, replays) as api:
        answers = {
            "since": await api.post(f"/api/v1/links/{link}/replays", json={"since": "soon"}),
            "until": await api.post(f"/api/v1/links/{link}/replays", json={"until": "1999"}),
            "entity": await api.post(
                f"/api/v1/links/{link}/replays", json={"entity": "expensify:1"}
            ),
            "link": await api.post("/api/v1/links/nope/replays", json={}),
            "replay": await api.get("/api/v1/replays/nope"),
            "plan": await api.get("/api/v1/replays/nope/plan"),
        }
    codes = {name: answer.status_code for name, answer in answers.items()}
    assert codes == {
        "since": 422,
        "until": 422,
        "entity": 422,
        "link": 404,
        "replay": 404,
        "plan": 404,
    }
    assert "not a point of the log" in answers["since"].json()["error"]
    assert "this link joins" in answers["entity"].json()["error"]
    async with store.transaction() as repos:
        assert await repos.replays.recent(link_id=link) == []


async def test_a_preview_link_goes_live_with_a_replay_of_its_whole_log(store: StateStore) -> None:
    link = await _link(store, enabled=False)
    replays = LinkReplays(store, resolve=FixedRanges(), sinks=SINKS, vendors=VENDORS)
    async with _api(store, replays) as api:
        live = await api.post(f"/api/v1/links/{link}/live", json={"requested_by": "ops"})
    assert live.status_code == 202, live.text
    assert live.json()["since"] == "beginning"
    assert live.json()["parts"][0]["start_offsets"] == {"0": 0, "1": 0}
    async with store.transaction() as repos:
        stored = await repos.links.get(link)
        actions = [entry.action for entry in await repos.audit_log.list(subject=link)]
    assert stored is not None
    assert stored.enabled
    assert sorted(actions) == ["link.live", "replay.requested"]


async def test_without_kafka_the_replay_routes_answer_503(store: StateStore) -> None:
    link = await _link(store)
    async with _api(store, None) as api:
        answer = await api.post(f"/api/v1/links/{link}/replays", json={})
    assert answer.status_code == 503
    assert "not available" in answer.json()["error"]
