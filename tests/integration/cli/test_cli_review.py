"""`mlc review list | redrive | dismiss` against the real broker and a SQLite store."""

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
    assert "resolved already" in again.output
    assert no_event.exit_code == EXIT_REFUSED
    assert "holds no event" in no_event.output
    assert dismissed.exit_code == 0, dismissed.output
    assert empty.output.strip() == "nothing waits for review"
    assert asyncio.run(_statuses(database_url)) == {first: "resolved", other: "dismissed"}
    found = asyncio.run(
        read_events(
            kafka_bootstrap,
            topics=["ap.bill"],
            keep=lambda e: e.event.get("connection_id") == connection_id,
        )
    )
    assert [e.event["bill_number"] for e in found] == ["SN-1"]
