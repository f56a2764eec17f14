"""The review queue and the mapping tables on the operator API (in-process, real SQLite store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from schemas.ap import BillChanged, BillLine, VendorRef
from schemas.envelope import Event
from schemas.values import AccountRef
from services.control.connections import OperatorConnections
from services.control.operator_api import operator_app
from services.runtime.publishing import stamp
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.unit.control.control_harness import served_control_app

TOKEN = "review-api-token"


class RecordingPublisher:
    """Stamps and keeps what it is given, as Kafka would take it."""

    def __init__(self) -> None:
        self.sent: list[Event] = []

    async def __call__(self, event: Event) -> Event:
        stamped = stamp(event)
        self.sent.append(stamped)
        return stamped


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def published() -> RecordingPublisher:
    return RecordingPublisher()


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://control.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


@pytest.fixture
async def api(store: StateStore, published: RecordingPublisher) -> AsyncIterator[httpx.AsyncClient]:
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    app = operator_app(
        store, OperatorConnections(store, vault), operator_token=TOKEN, publish_event=published
    )
    async with _client(app) as client:
        yield client


def _bill(connection_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    bill = BillChanged(
        connection_id=connection_id,
        occurred_at=now,
        source_updated_at=now,
        bill_id="301",
        bill_number="SN-1",
        vendor=VendorRef(vendor_id="8", name="Studio Nine"),
        issue_date=date(2026, 11, 1),
        currency="USD",
        subtotal=Decimal("12.00"),
        total=Decimal("12.00"),
        status="open",
        lines=(BillLine(amount=Decimal("12.00"), account=AccountRef(account_id="5999")),),
    )
    loaded: dict[str, Any] = orjson.loads(bill.model_dump_json())
    return loaded


async def _queued(store: StateStore, *, with_event: bool = True) -> tuple[str, int]:
    async with store.transaction() as tx:
        source = await tx.connections.create(vendor="freshbooks", tenant_id="t", display_name="B")
        target = await tx.connections.create(vendor="bill", tenant_id="t", display_name="BILL")
        link = await tx.links.create(
            source_connection_id=source.id, target_connection_id=target.id, flow="ap-bill"
        )
        item = await tx.review_queue.raise_item(
            service="bill",
            reason="bill_needs_review",
            link_id=link.id,
            entity_key="301",
            note="no BILL GL account for 'Books' (id 5999): add it to account_map",
            event=_bill(source.id) if with_event else None,
        )
    return link.id, item.id


async def test_the_queue_lists_shows_and_filters_items_as_the_cli_prints_them(
    api: httpx.AsyncClient, store: StateStore
) -> None:
    link, item = await _queued(store)

    listed = await api.get("/api/v1/review", params={"link": link})
    shown = await api.get(f"/api/v1/review/{item}")
    closed = await api.get("/api/v1/review", params={"status": "resolved"})
    unknown_link = await api.get("/api/v1/review", params={"link": "nope"})
    bad_status = await api.get("/api/v1/review", params={"status": "closed"})
    unknown_item = await api.get("/api/v1/review/999")

    assert listed.status_code == 200, listed.text
    [first] = listed.json()["items"]
    assert first == shown.json()
    assert (first["id"], first["link"], first["record"], first["status"]) == (
        item,
        link,
        "301",
        "open",
    )
    assert first["reasons"] == [
        {
            "missing": None,
            "value": None,
            "fix": None,
            "note": "no BILL GL account for 'Books' (id 5999): add it to account_map",
            "mapping_kind": None,
            "mapping_source": None,
        }
    ]
    assert closed.json() == {"items": []}
    assert unknown_link.status_code == 404
    assert unknown_link.json() == {"error": "no link 'nope'; see mlc links list"}
    assert bad_status.status_code == 422
    assert "status" in bad_status.json()["error"]
    assert unknown_item.status_code == 404


async def test_a_redrive_publishes_the_event_and_marks_the_item_by_the_operator_api(
    api: httpx.AsyncClient, store: StateStore, published: RecordingPublisher
) -> None:
    _, item = await _queued(store)

    redriven = await api.post(f"/api/v1/review/{item}/redrive")
    again = await api.post(f"/api/v1/review/{item}/redrive")
    resolve_closed = await api.post(f"/api/v1/review/{item}/resolve")

    assert redriven.status_code == 200, redriven.text
    body = redriven.json()
    [sent] = published.sent
    assert (body["event_id"], body["type"], body["topic"]) == (
        str(sent.event_id),
        "BillChanged",
        "ap.bill",
    )
    assert body["item"]["status"] == "redriven"
    [entry] = body["item"]["history"]
    assert (entry["action"], entry["by"], entry["event_id"]) == (
        "redriven",
        "operator-api",
        str(sent.event_id),
    )
    assert again.status_code == 409
    assert "redriven already" in again.json()["error"]
    assert resolve_closed.status_code == 409
    async with store.transaction() as tx:
        [audit] = await tx.audit_log.list(subject=f"{sent.connection_id}:301")
    assert (audit.actor, audit.action, audit.detail["via"]) == (
        "operator-api",
        "review.redriven",
        "operator API",
    )


async def test_an_item_without_an_event_is_resolved_or_dismissed_not_redriven(
    api: httpx.AsyncClient, store: StateStore, published: RecordingPublisher
) -> None:
    _, item = await _queued(store, with_event=False)

    redriven = await api.post(f"/api/v1/review/{item}/redrive")
    dismissed = await api.post(
        f"/api/v1/review/{item}/resolve", json={"note": "entered by hand", "status": "dismissed"}
    )
    bad = await api.post(f"/api/v1/review/{item}/resolve", json={"status": "open"})

    assert redriven.status_code == 409
    assert "holds no event to re-drive" in redriven.json()["error"]
    assert published.sent == []
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["resolution"]) == (
        "dismissed",
        "entered by hand",
    )
    assert dismissed.json()["history"][0]["by"] == "operator-api"
    assert bad.status_code == 422


async def test_a_redrive_the_control_plane_cannot_publish_is_503_and_the_item_stays_open(
    store: StateStore,
) -> None:
    _, item = await _queued(store)
    # As `python -m services.control` builds it; its broker was never started.
    async with _client(served_control_app(store, token=TOKEN)) as client:
        answer = await client.post(f"/api/v1/review/{item}/redrive")
        shown = await client.get(f"/api/v1/review/{item}")

    assert answer.status_code == 503
    assert "it is open" in answer.json()["error"]
    assert shown.json()["status"] == "open"
    assert [h["action"] for h in shown.json()["history"]] == ["redriven", "redrive_failed"]


async def test_mappings_are_set_listed_and_removed_per_link_and_kind(
    api: httpx.AsyncClient, store: StateStore
) -> None:
    link, _ = await _queued(store)
    path = f"/api/v1/links/{link}/mappings"

    added = await api.put(f"{path}/category/Travel%20%2F%20Air", json={"target": "6200"})
    changed = await api.put(f"{path}/category/Travel%20%2F%20Air", json={"target": "6210"})
    await api.put(f"{path}/tag/Ops", json={"target": "Operations"})
    listed = await api.get(path)
    tags = await api.get(path, params={"kind": "tag"})
    removed = await api.delete(f"{path}/category/Travel%20%2F%20Air")
    removed_again = await api.delete(f"{path}/category/Travel%20%2F%20Air")

    assert added.status_code == 200, added.text
    assert added.json() == {
        "link": link,
        "kind": "category",
        "source": "Travel / Air",
        "target": "6200",
        "previous": None,
        "waiting_items": [],
    }
    assert changed.json()["previous"] == "6200"
    assert listed.json()["mappings"] == [
        {"link": link, "kind": "category", "source": "Travel / Air", "target": "6210"},
        {"link": link, "kind": "tag", "source": "Ops", "target": "Operations"},
    ]
    assert [m["source"] for m in tags.json()["mappings"]] == ["Ops"]
    assert removed.status_code == 204
    assert removed_again.status_code == 404
    assert "has no category mapping for 'Travel / Air'" in removed_again.json()["error"]


async def test_mapping_requests_name_what_is_wrong(
    api: httpx.AsyncClient, store: StateStore
) -> None:
    link, _ = await _queued(store)

    unknown_link = await api.get("/api/v1/links/nope/mappings")
    bad_kind = await api.put(f"/api/v1/links/{link}/mappings/Gl_Account/x", json={"target": "1"})
    no_target = await api.put(f"/api/v1/links/{link}/mappings/tag/x", json={})
    empty_target = await api.put(f"/api/v1/links/{link}/mappings/tag/x", json={"target": ""})

    assert unknown_link.status_code == 404
    assert bad_kind.status_code == 422
    assert "is not a mapping kind" in bad_kind.json()["error"]
    assert no_target.status_code == 422
    assert "target" in no_target.json()["error"]
    assert empty_target.status_code == 422
