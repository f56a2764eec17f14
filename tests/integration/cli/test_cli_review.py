"""`mlc review list | show | redrive | resolve | dismiss` against a SQLite store (and the real
broker for re-drives)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
from typer.testing import CliRunner

from mlc.app import app
from mlc.exits import EXIT_REFUSED
from schemas.ap import BillChanged, BillLine, VendorRef
from schemas.values import AccountRef
from services.runtime.audit_trail import read_events
from services.runtime.store import StateStore

runner = CliRunner()


@pytest.fixture
def database_url(kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("MLC_KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("MLC_DATABASE_URL", url)
    return url


def _bill(connection_id: str) -> BillChanged:
    now = datetime.now(UTC)
    return BillChanged(
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


async def _queue(url: str, connection_id: str) -> tuple[int, int]:
    store = await StateStore.open(url)
    try:
        async with store.transaction() as tx:
            bill = _bill(connection_id)
            payload = {
                "entity_key": bill.entity_key,
                "note": "no BILL GL account for 'Books' (id 5999): add it to account_map",
                "event": orjson.loads(bill.model_dump_json()),
            }
            reason = "bill_needs_review"
            first = await tx.review_queue.add(service="bill", reason=reason, payload=payload)
            other = await tx.review_queue.add(
                service="bill", reason=reason, payload={"entity_key": "302", "note": "x"}
            )
        return first.id, other.id
    finally:
        await store.close()


async def _statuses(url: str) -> dict[int, str]:
    store = await StateStore.open(url)
    try:
        async with store.transaction() as tx:
            items = await tx.review_queue.list(status=None)
        return {item.id: item.status for item in items}
    finally:
        await store.close()


def test_list_redrive_and_dismiss(database_url: str, kafka_bootstrap: str) -> None:
    connection_id = f"fb-{uuid4().hex[:8]}"
    first, other = asyncio.run(_queue(database_url, connection_id))

    listed = runner.invoke(app, ["review", "list"])
    as_json = runner.invoke(app, ["review", "list", "--json"])
    redriven = runner.invoke(app, ["review", "redrive", str(first)])
    again = runner.invoke(app, ["review", "redrive", str(first)])
    no_event = runner.invoke(app, ["review", "redrive", str(other)])
    dismissed = runner.invoke(app, ["review", "dismiss", str(other), "--note", "fixed by hand"])
    empty = runner.invoke(app, ["review", "list"])

    assert listed.exit_code == 0, listed.output
    assert "no BILL GL account for 'Books' (id 5999)" in listed.output
    assert [i["id"] for i in json.loads(as_json.output)["items"]] == [first, other]
    assert redriven.exit_code == 0, redriven.output
    assert "BillChanged 301 back on ap.bill" in redriven.output
    assert again.exit_code == EXIT_REFUSED
    assert "redriven already" in again.output
    assert no_event.exit_code == EXIT_REFUSED
    assert "holds no event" in no_event.output
    assert dismissed.exit_code == 0, dismissed.output
    assert empty.output.strip() == "nothing waits for review"
    assert asyncio.run(_statuses(database_url)) == {first: "redriven", other: "dismissed"}
    found = asyncio.run(
        read_events(
            kafka_bootstrap,
            topics=["ap.bill"],
            keep=lambda e: e.event.get("connection_id") == connection_id,
        )
    )
    assert [e.event["bill_number"] for e in found] == ["SN-1"]


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite store for the commands that need no broker."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("MLC_DATABASE_URL", url)
    monkeypatch.setenv("MLC_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    return url


MEALS_FIX = "mlc mappings set --link {link} --kind category 'Meals' <FreshBooks account>"


async def _raise_on_a_link(
    url: str, connection_id: str, *, note: str = "no account"
) -> tuple[str, int]:
    store = await StateStore.open(url)
    try:
        async with store.transaction() as tx:
            source = await tx.connections.create(
                vendor="freshbooks",
                tenant_id="t",
                display_name="Books",
                connection_id=connection_id,
            )
            target = await tx.connections.create(vendor="bill", tenant_id="t", display_name="BILL")
            link = await tx.links.create(
                source_connection_id=source.id, target_connection_id=target.id, flow="ap-bill"
            )
            item = await tx.review_queue.raise_item(
                service="bill",
                reason="bill_needs_review",
                link_id=link.id,
                entity_key="301",
                note=note,
                event=orjson.loads(_bill(connection_id).model_dump_json()),
                reasons=[
                    {"missing": "category", "value": "Meals", "fix": MEALS_FIX.format(link=link.id)}
                ],
            )
        return link.id, item.id
    finally:
        await store.close()


async def _raise_again(url: str, link_id: str, note: str) -> int:
    store = await StateStore.open(url)
    try:
        async with store.transaction() as tx:
            item = await tx.review_queue.raise_item(
                service="bill", reason="bill_needs_review", link_id=link_id, entity_key="301",
                note=note,
            )  # fmt: skip
        return item.id
    finally:
        await store.close()


def test_list_and_show_name_the_link_the_record_why_and_the_fix(store_url: str) -> None:
    link, item = asyncio.run(_raise_on_a_link(store_url, "fb-1"))

    table = runner.invoke(app, ["review", "list"])
    as_json = runner.invoke(app, ["review", "list", "--link", link, "--json"])
    shown = runner.invoke(app, ["review", "show", str(item)])
    shown_json = runner.invoke(app, ["review", "show", str(item), "--json"])
    closed = runner.invoke(app, ["review", "list", "--status", "resolved"])
    unknown_link = runner.invoke(app, ["review", "list", "--link", "nope"])
    bad_status = runner.invoke(app, ["review", "list", "--status", "closed"])
    unknown_item = runner.invoke(app, ["review", "show", "999"])

    assert table.exit_code == 0, table.output
    assert link in table.output
    assert "no category for 'Meals'" in table.output
    assert "mlc mappings set --link" in table.output
    [listed] = json.loads(as_json.output)["items"]
    assert listed == json.loads(shown_json.output)
    assert {k: listed[k] for k in ("id", "link", "record", "status", "event_type")} == {
        "id": item,
        "link": link,
        "record": "301",
        "status": "open",
        "event_type": "BillChanged",
    }
    assert listed["reasons"] == [
        {
            "missing": "category",
            "value": "Meals",
            "fix": MEALS_FIX.format(link=link),
            "note": "no category for 'Meals'",
            "mapping_kind": None,
            "mapping_source": None,
        }
    ]
    assert (listed["note"], listed["history"]) == ("no account", [])
    assert f"fix: {MEALS_FIX.format(link=link)}" in shown.output
    assert "re-drives: BillChanged" in shown.output
    assert closed.output.strip() == "no review items"
    assert unknown_link.exit_code == EXIT_REFUSED
    assert "no link 'nope'" in unknown_link.output
    assert bad_status.exit_code == EXIT_REFUSED
    assert unknown_item.exit_code == EXIT_REFUSED
    assert "no review item 999" in unknown_item.output


def test_resolve_closes_an_item_by_hand_recording_who_and_why(store_url: str) -> None:
    link, item = asyncio.run(_raise_on_a_link(store_url, "fb-2"))

    resolved = runner.invoke(
        app, ["review", "resolve", str(item), "--by", "alice", "--note", "typed in"]
    )
    again = runner.invoke(app, ["review", "resolve", str(item)])
    open_now = runner.invoke(app, ["review", "list", "--json"])
    closed = runner.invoke(app, ["review", "list", "--status", "resolved", "--json"])
    raised_again = asyncio.run(_raise_again(store_url, link, "still no account"))

    assert resolved.exit_code == 0, resolved.output
    assert json.loads(open_now.output)["items"] == []
    [item_json] = json.loads(closed.output)["items"]
    assert (item_json["status"], item_json["resolution"]) == ("resolved", "typed in")
    assert [(h["action"], h["by"], h["note"]) for h in item_json["history"]] == [
        ("resolved", "alice", "typed in")
    ]
    assert again.exit_code == EXIT_REFUSED
    assert "resolved already" in again.output
    assert raised_again != item  # closed by a person: a new failure is a new item


def test_a_redrive_kafka_does_not_take_leaves_the_item_open(store_url: str) -> None:
    _, item = asyncio.run(_raise_on_a_link(store_url, "fb-3"))

    redriven = runner.invoke(app, ["review", "redrive", str(item), "--by", "alice"])
    shown = json.loads(runner.invoke(app, ["review", "show", str(item), "--json"]).output)

    assert redriven.exit_code == 1, redriven.output
    assert "cannot use Kafka at 127.0.0.1:1" in redriven.output
    assert shown["status"] == "open"
    assert [(h["action"], h["by"]) for h in shown["history"]] == [
        ("redriven", "alice"),
        ("redrive_failed", "alice"),
    ]


def test_a_redriven_item_records_who_and_comes_back_with_the_new_reason(
    database_url: str, kafka_bootstrap: str
) -> None:
    connection_id = f"fb-{uuid4().hex[:8]}"
    link, item = asyncio.run(_raise_on_a_link(database_url, connection_id))

    redriven = runner.invoke(app, ["review", "redrive", str(item), "--by", "alice", "--json"])
    after_redrive = json.loads(runner.invoke(app, ["review", "show", str(item), "--json"]).output)
    back = asyncio.run(_raise_again(database_url, link, "no BILL GL account for 'Meals'"))
    listed = json.loads(runner.invoke(app, ["review", "list", "--json"]).output)["items"]

    assert redriven.exit_code == 0, redriven.output
    sent = json.loads(redriven.output)
    assert (sent["type"], sent["topic"], sent["entity_key"]) == ("BillChanged", "ap.bill", "301")
    assert after_redrive["status"] == "redriven"
    [entry] = after_redrive["history"]
    assert (entry["action"], entry["by"], entry["event_id"]) == (
        "redriven",
        "alice",
        sent["event_id"],
    )
    assert after_redrive["resolution"] == f"re-driven by alice as event {sent['event_id']}"
    assert back == item
    [reopened] = listed
    assert (reopened["id"], reopened["status"]) == (item, "open")
    assert reopened["reasons"][0]["note"] == "no BILL GL account for 'Meals'"
    assert [h["action"] for h in reopened["history"]] == ["redriven", "reopened"]
    found = asyncio.run(
        read_events(
            kafka_bootstrap,
            topics=["ap.bill"],
            keep=lambda e: e.event.get("connection_id") == connection_id,
        )
    )
    assert [str(e.event["event_id"]) for e in found] == [sent["event_id"]]
