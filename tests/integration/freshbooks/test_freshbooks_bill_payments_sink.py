"""Flow ap-bill's way back: BILL's payments recorded against their FreshBooks bills, with
the FreshBooks sandbox on a socket (real HTTP, SQLite).

A partial payment then the rest (the bill partly paid, then paid); the same payment
delivered twice records it once; a payment voided after it was recorded is soft-deleted
and the bill owes again; a payment of a bill from another books connection is not ours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from schemas.ap import BillPaid, BillRef
from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from services.freshbooks.access import AP_FLOW, FreshBooksAccess
from services.freshbooks.sinks.bill_payments import BillPaymentsSink
from services.runtime.outcomes import Outcomes
from tests.integration.freshbooks.fb_sink_harness import SinkWorld, sink_world

_BASE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class Payments:
    world: SinkWorld
    bill_connection_id: str
    access: FreshBooksAccess
    sink: BillPaymentsSink | None = None
    outcomes: list[SyncOutcome] = field(default_factory=list)

    async def pay(self, event: BillPaid) -> None:
        assert self.sink is not None
        await self.sink.bill_paid(event)

    def paid(
        self,
        bill: dict[str, Any],
        amount: str,
        *,
        payment: str,
        version: int = 1,
        voided: bool = False,
        origin: str | None = None,
    ) -> BillPaid:
        return BillPaid(
            connection_id=self.bill_connection_id,
            occurred_at=_BASE + timedelta(minutes=version),
            source_updated_at=_BASE + timedelta(minutes=version),
            payment_id=payment,
            allocation_id=f"blp-{payment}",
            bill=BillRef(
                bill_id=f"00n-{bill['id']}",
                bill_number=str(bill.get("bill_number") or bill["id"]),
                vendor_name="Vendor",
                origin_connection_id=origin or self.world.freshbooks_connection_id,
                origin_bill_id=str(bill["id"]),
            ),
            amount=Decimal(amount),
            currency=str(bill["currency_code"]),
            paid_on=date(2026, 11, 18),
            cleared_on=date(2026, 11, 20),
            method="ach",
            reference="P-77",
            voided=voided,
        )

    async def bill(self, bill_id: int) -> dict[str, Any]:
        """The bill as FreshBooks' API shows it (status and outstanding computed)."""
        client = await self.access.client(self.world.freshbooks_connection_id)
        found = await client.bill(bill_id)
        assert found is not None
        return found.model_dump(mode="json")

    def last(self, event: BillPaid) -> SyncOutcome:
        return [o for o in self.outcomes if o.entity_key == event.entity_key][-1]


@pytest.fixture
async def payments(tmp_path: Path) -> AsyncIterator[Payments]:
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
        access = FreshBooksAccess(store=world.store, vault=world.vault, settings=world.settings)
        made = Payments(world, bill.id, access)

        async def keep(event: SyncOutcome, *, cause: Event) -> None:
            made.outcomes.append(event)

        made.sink = BillPaymentsSink(
            store=world.store,
            access=access,
            settings=world.settings,
            outcomes=Outcomes(keep, service="freshbooks"),
            holder=f"freshbooks-{uuid4().hex}",
        )
        try:
            yield made
        finally:
            await access.aclose()


async def _unpaid_bill(payments: Payments) -> dict[str, Any]:
    paid = {p["billid"] for p in await payments.world.state("bill_payments")}
    bills = await payments.world.state("bills")
    found = next(b for b in bills if b["id"] not in paid and b["vis_state"] == 0)
    return await payments.bill(found["id"])


async def test_a_partial_payment_then_the_rest_and_a_redelivery_recorded_once(
    payments: Payments,
) -> None:
    bill = await _unpaid_bill(payments)
    total = Decimal(bill["total_amount"]["amount"])
    part = (total / 4).quantize(Decimal("0.01"))
    first = payments.paid(bill, str(part), payment="stp-1")
    await payments.pay(first)
    await payments.pay(first)  # redelivered
    partly = await payments.bill(bill["id"])
    second = payments.paid(bill, str(total - part), payment="stp-2")
    await payments.pay(second)
    whole = await payments.bill(bill["id"])

    assert [o.operation for o in payments.outcomes if o.entity_key == first.entity_key] == [
        "create_bill_payment",
        "compare",
    ]
    assert partly["status"] == "partial"
    assert Decimal(partly["outstanding"]["amount"]) == total - part
    assert whole["status"] == "paid"
    recorded = [p for p in await payments.world.state("bill_payments") if p["billid"] == bill["id"]]
    assert len(recorded) == 2
    assert {p["payment_type"] for p in recorded} == {"ACH"}
    assert any("[BILL payment stp-1 / blp-stp-1]" in p["note"] for p in recorded)
    assert payments.last(second).target_connection_id == payments.world.freshbooks_connection_id


async def test_a_voided_payment_is_taken_back_out_and_the_bill_owes_again(
    payments: Payments,
) -> None:
    bill = await _unpaid_bill(payments)
    total = Decimal(bill["total_amount"]["amount"])
    cleared = payments.paid(bill, "10.00", payment="stp-3")
    await payments.pay(cleared)
    await payments.pay(payments.paid(bill, "10.00", payment="stp-3", version=2,
                                                voided=True))  # fmt: skip
    after = await payments.bill(bill["id"])

    assert payments.last(cleared).operation == "delete_bill_payment"
    assert Decimal(after["outstanding"]["amount"]) == total
    [recorded] = [
        p for p in await payments.world.state("bill_payments") if p["billid"] == bill["id"]
    ]
    assert recorded["vis_state"] == 1  # soft-deleted, kept


async def test_a_payment_of_another_books_bill_is_not_ours(payments: Payments) -> None:
    bill = await _unpaid_bill(payments)
    await payments.pay(payments.paid(bill, "5.00", payment="stp-4", origin="other"))

    assert payments.outcomes == []
    assert [
        p for p in await payments.world.state("bill_payments") if p["billid"] == bill["id"]
    ] == []
