"""BILL as flow ap-bill's source: cleared payments of the link's bills published over a
real Kafka broker, read from the BILL sandbox on a socket.

A scheduled payment is not written back; once it clears, one BillPaid per share, naming
the source bill it came from; a second poll publishes nothing; a payment voided after it
cleared goes out again as voided; a payment of a bill entered in BILL itself never goes out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from schemas import decode_event
from schemas.ap import BillPaid
from schemas.envelope import utcnow
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.bill.access import FLOW, BillAccess
from services.bill.sinks.bills import BILL
from services.bill.source import BillSource
from services.runtime.audit_trail import read_events
from services.runtime.bus import create_broker
from services.runtime.settings import RuntimeSettings
from services.runtime.snapshots import PublishedSnapshots
from tests.integration.bill.bill_world import BillWorld, bill_world

DAY = 24 * 3600


@dataclass
class Payments:
    world: BillWorld
    source: BillSource
    bootstrap: str
    topic: str
    source_connection_id: str

    async def published(self) -> list[BillPaid]:
        found = await read_events(self.bootstrap, topics=[self.topic], keep=lambda _: True)
        return [e for e in (decode_event(f.event) for f in found) if isinstance(e, BillPaid)]

    def poll(self) -> PollTick:
        now = utcnow()
        return PollTick(
            connection_id=self.world.connection_id,
            occurred_at=now,
            vendor="bill",
            schedule="poll",
            due_at=now.isoformat(),
            entity_key="tick:poll",
        )

    async def action(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.world.control.post(f"/_sandbox/actions/{name}", json=payload)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def clear_payments(self) -> None:
        await self.world.control.post("/_sandbox/clock", json={"advance_seconds": 3 * DAY})
        await self.action("settle_payments", {})


@pytest.fixture
async def payments(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: Callable[..., Awaitable[str]]
) -> AsyncIterator[Payments]:
    async with bill_world(tmp_path) as world:
        async with world.store.transaction() as repos:
            books = await repos.connections.create(
                vendor="freshbooks", tenant_id="default", display_name="Books"
            )
            link = await repos.links.create(
                source_connection_id=books.id, target_connection_id=world.connection_id, flow=FLOW
            )
            # Two seeded BILL bills came from the books (as the bill sink records them).
            seeded = [b["id"] for b in await world.state("bills") if not b.get("archived")]
            for source_key, bill_id in (("1626", seeded[0]), ("1627", seeded[1])):
                await repos.cross_references.put(
                    link.id, source_key, BILL, target_id=bill_id, expected_revision=None,
                    fingerprint=None, source_version="1.0", source_updated_at=utcnow(),
                )  # fmt: skip
        topic = await kafka_topic("ap.payment")
        broker: KafkaBroker = create_broker(
            RuntimeSettings(service_name="bill", kafka_bootstrap_servers=kafka_bootstrap)
        )
        await broker.start()
        access = BillAccess(store=world.store, vault=world.vault, settings=world.settings)
        try:
            source = BillSource(
                store=world.store,
                access=access,
                snapshots=PublishedSnapshots(store=world.store, broker=broker, service="bill"),
                service="bill",
                payment_topic=topic,
            )
            yield Payments(world, source, kafka_bootstrap, topic, books.id)
        finally:
            await access.aclose()
            await broker.stop()


async def test_a_payment_goes_out_once_it_cleared_once_and_again_when_voided(
    payments: Payments,
) -> None:
    bills = [b for b in await payments.world.state("bills") if not b.get("archived")]
    first = bills[0]
    paid = await payments.action("pay_bill", {"bill_id": first["id"], "amount": 100})
    await payments.source.on_poll(payments.poll())
    assert await payments.published() == []  # scheduled, not cleared

    await payments.clear_payments()
    await payments.source.on_poll(payments.poll())
    await payments.source.on_poll(payments.poll())  # nothing new
    [cleared] = await payments.published()

    assert (cleared.payment_id, cleared.amount, cleared.voided) == (paid["id"], Decimal(100), False)
    assert cleared.allocation_id == paid["billPayments"][0]["id"]
    assert cleared.bill.bill_id == first["id"]
    assert (cleared.bill.origin_connection_id, cleared.bill.origin_bill_id) == (
        payments.source_connection_id,
        "1626",
    )
    assert cleared.bill.bill_number == first["invoice"]["invoiceNumber"]
    assert cleared.connection_id == payments.world.connection_id

    await payments.action("void_payment", {"payment_id": paid["id"]})
    notification = RawDelivery(
        connection_id=payments.world.connection_id,
        occurred_at=utcnow(),
        entity_key=f"payment.updated:{paid['id']}",
        vendor="bill",
        delivery_id="evt-1",
        content_type="application/json",
        body=(
            '{"metadata":{"eventId":"evt-1","eventType":"payment.updated","version":"1"},'
            f'"payment":{{"id":"{paid["id"]}","status":"VOID"}}}}'
        ),
    )
    await payments.source.on_delivery(notification)
    voided = (await payments.published())[-1]
    assert (voided.payment_id, voided.voided, voided.entity_key) == (
        paid["id"],
        True,
        cleared.entity_key,
    )


async def test_a_payment_of_a_bill_entered_in_bill_itself_never_goes_out(
    payments: Payments,
) -> None:
    bills = [b for b in await payments.world.state("bills") if not b.get("archived")]
    not_from_the_books = bills[2]
    await payments.action("pay_bill", {"bill_id": not_from_the_books["id"], "amount": 10})
    await payments.clear_payments()

    now = utcnow()
    await payments.source.on_reconcile(
        ReconcileTick(
            connection_id=payments.world.connection_id,
            occurred_at=now,
            vendor="bill",
            schedule="reconcile",
            due_at=now.isoformat(),
            entity_key="tick:reconcile",
        )
    )

    assert await payments.published() == []
