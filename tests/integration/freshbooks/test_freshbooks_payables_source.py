"""FreshBooks as flow ap-bill's source: its bills and bill vendors published over a real
Kafka broker, read from the FreshBooks sandbox on a socket.

A reconcile publishes every vendor and bill, once (a second publishes nothing); a bill
callback publishes the bill and its vendor; an edit publishes the bill again; a deleted
bill goes out as void; a connection with no ap-bill link is never read for bills; a
callback the connection's lost consent stops is a failed outcome naming why, and raised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from schemas import decode_event
from schemas.ap import BillChanged, VendorChanged
from schemas.envelope import Event, utcnow
from schemas.outcomes import SyncOutcome
from schemas.raw import RawDelivery, ReconcileTick
from services.freshbooks.access import AP_FLOW, FreshBooksAccess
from services.freshbooks.source import PayablesSource
from services.runtime.audit_trail import read_events
from services.runtime.bus import create_broker
from services.runtime.oauth_tokens import TOKENS_FIELD, OAuthRefusedError
from services.runtime.outcomes import Outcomes
from services.runtime.settings import RuntimeSettings
from services.runtime.snapshots import PublishedSnapshots
from tests.integration.freshbooks.fb_sink_harness import SinkWorld, sink_world


@dataclass
class OutcomeList:
    """The bus edge of the source's outcomes: kept in a list."""

    outcomes: list[SyncOutcome] = field(default_factory=list)

    async def __call__(self, event: SyncOutcome, *, cause: Event) -> None:
        self.outcomes.append(event)


@dataclass
class Source:
    world: SinkWorld
    source: PayablesSource
    bootstrap: str
    vendor_topic: str
    bill_topic: str
    outcomes: OutcomeList

    async def published(self) -> list[Event]:
        found = await read_events(
            self.bootstrap, topics=[self.vendor_topic, self.bill_topic], keep=lambda _: True
        )
        return [decode_event(logged.event) for logged in found]

    def tick(self) -> ReconcileTick:
        now = utcnow()
        return ReconcileTick(
            connection_id=self.world.freshbooks_connection_id,
            occurred_at=now,
            vendor="freshbooks",
            schedule="reconcile",
            due_at=now.isoformat(),
            entity_key="tick:reconcile",
        )

    def callback(self, name: str, object_id: str) -> RawDelivery:
        return RawDelivery(
            connection_id=self.world.freshbooks_connection_id,
            occurred_at=utcnow(),
            entity_key=f"{name}:{object_id}",
            vendor="freshbooks",
            delivery_id=f"{name}:{object_id}:{utcnow().timestamp()}",
            content_type="application/x-www-form-urlencoded",
            body=f"name={name}&object_id={object_id}&account_id={self.world.account_id}",
        )

    async def action(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.world.action(name, payload)


@pytest.fixture
async def source(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
) -> AsyncIterator[Source]:
    async with sink_world(tmp_path) as world:
        async with world.store.transaction() as repos:
            bill = await repos.connections.create(
                vendor="bill", tenant_id="default", display_name="BILL"
            )
            await repos.links.create(
                source_connection_id=world.freshbooks_connection_id,
                target_connection_id=bill.id,
                flow=AP_FLOW,
            )
        vendor_topic, bill_topic = await kafka_topic("ap.vendor"), await kafka_topic("ap.bill")
        broker: KafkaBroker = create_broker(
            RuntimeSettings(service_name="freshbooks", kafka_bootstrap_servers=kafka_bootstrap)
        )
        await broker.start()
        access = FreshBooksAccess(store=world.store, vault=world.vault, settings=world.settings)
        outcomes = OutcomeList()
        try:
            made = PayablesSource(
                access=access,
                snapshots=PublishedSnapshots(
                    store=world.store, broker=broker, service="freshbooks"
                ),
                outcomes=Outcomes(outcomes, service="freshbooks"),
                vendor_topic=vendor_topic,
                bill_topic=bill_topic,
            )
            yield Source(world, made, kafka_bootstrap, vendor_topic, bill_topic, outcomes)
        finally:
            await access.aclose()
            await broker.stop()


async def test_a_reconcile_publishes_every_vendor_and_bill_once(source: Source) -> None:
    await source.source.on_reconcile(source.tick())
    first = await source.published()
    await source.source.on_reconcile(source.tick())

    vendors = [e for e in first if isinstance(e, VendorChanged)]
    bills = [e for e in first if isinstance(e, BillChanged)]
    fb_vendors = await source.world.state("bill_vendors")
    fb_bills = await source.world.state("bills")
    assert len(vendors) == len(fb_vendors) > 0
    assert len(bills) == len(fb_bills) > 0
    names = {str(v["vendorid"]): v["vendor_name"] for v in fb_vendors}
    for bill in bills:
        assert bill.vendor.name == names[bill.vendor.vendor_id]
        assert bill.subtotal == sum(line.amount for line in bill.lines)
        assert all(line.account.name for line in bill.lines)  # the category's name
    assert len(await source.published()) == len(first)  # the second reconcile: nothing new


async def test_a_bill_callback_publishes_the_bill_and_its_vendor_then_edits_and_deletion(
    source: Source,
) -> None:
    vendor = await source.action(
        "create_bill_vendor",
        {"vendor_name": "Pixel & Co", "primary_contact_email": "ap@pixel.example"},
    )
    category = (await source.world.state("categories"))[0]
    created = await source.action(
        "create_bill",
        {
            "vendorid": vendor["vendorid"],
            "issue_date": "2026-11-02",
            "due_offset_days": 30,
            "currency_code": "USD",
            "bill_number": "PX-9",
            "lines": [
                {
                    "categoryid": category["id"],
                    "description": "Icons",
                    "quantity": 2,
                    "unit_cost": {"amount": "40.00", "code": "USD"},
                }
            ],
        },
    )
    bill_id = str(created["id"])
    await source.source.on_delivery(source.callback("bill.create", bill_id))
    await source.action("update_bill", {"id": bill_id, "bill_number": "PX-10"})
    await source.source.on_delivery(source.callback("bill.update", bill_id))
    await source.source.on_delivery(source.callback("bill.update", bill_id))  # no change
    await source.action("delete_bill", {"id": bill_id})
    await source.source.on_delivery(source.callback("bill.delete", bill_id))

    published = await source.published()
    [pixel] = [e for e in published if isinstance(e, VendorChanged)]
    assert (pixel.name, pixel.email, pixel.active) == ("Pixel & Co", "ap@pixel.example", True)
    bills = [e for e in published if isinstance(e, BillChanged) and e.bill_id == bill_id]
    assert [(b.bill_number, b.status) for b in bills] == [
        ("PX-9", "open"),
        ("PX-10", "open"),
        ("PX-10", "void"),
    ]
    first = bills[0]
    assert first.vendor.vendor_id == str(vendor["vendorid"])
    assert first.total == 80
    [line] = first.lines
    assert (line.account.account_id, line.account.name) == (
        str(category["id"]),
        category["category"],
    )


async def test_a_connection_without_an_ap_bill_link_is_not_read_for_bills(
    source: Source,
) -> None:
    async with source.world.store.transaction() as repos:
        for link in await repos.links.list(connection_id=source.world.freshbooks_connection_id):
            if link.flow == AP_FLOW:
                await repos.links.update(link.id, enabled=False)
    await source.world.sandbox.delete("/_sandbox/requests")

    await source.source.on_reconcile(source.tick())

    assert await source.published() == []
    reads = [r for r in await source.world.requests() if "/bill" in r["path"]]
    assert reads == []


async def test_a_callback_the_lost_consent_stops_is_a_failed_outcome_naming_why(
    source: Source,
) -> None:
    [bill] = (await source.world.state("bills"))[:1]
    async with source.world.store.transaction() as repos:
        # The consent is gone: what a revoked token and a refused refresh leave behind.
        assert await repos.credentials.delete(source.world.freshbooks_connection_id, TOKENS_FIELD)

    with pytest.raises(OAuthRefusedError):
        await source.source.handle(source.callback("bill.update", str(bill["id"])))

    [outcome] = source.outcomes.outcomes
    assert (outcome.entity_key, outcome.status, outcome.operation) == (
        str(bill["id"]),
        "failed",
        "read",
    )
    assert outcome.connection_id == source.world.freshbooks_connection_id
    assert "FreshBooks did not let us read it" in outcome.detail
    assert "no OAuth tokens" in outcome.detail
    assert await source.published() == []
