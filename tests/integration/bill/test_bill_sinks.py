"""Flow ap-bill's vendor and bill sinks against the BILL sandbox (real HTTP, SQLite).

Vendor first (a bill waits for its vendor, then is written); a vendor BILL has is found,
not copied; lines on BILL GL accounts by the link's map, by number, by name; an unmapped
account waits in the review queue, nothing written, and the bill is written once after
the map is fixed; the same bill entered twice is flagged; an edit before payment replaces
the bill, one after a payment waits for a person; a deleted bill is archived. A preview
names what the write then does and writes nothing; a vendor applied for one link (as a
replay does) writes the bills that waited for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import pytest

from schemas.ap import BillChanged, BillLine, VendorChanged, VendorRef
from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.values import AccountRef
from services.bill.access import FLOW
from services.bill.sinks.bills import BillsSink
from services.bill.sinks.vendors import VendorsSink
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store.records import LinkRecord
from tests.integration.bill.bill_world import BillWorld, bill_world
from tests.integration.store_rows import rows_a_preview_keeps

_BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EventT = TypeVar("EventT", BillChanged, VendorChanged)
SOFTWARE = AccountRef(account_id="5031", name="Software")
TRAVEL = AccountRef(account_id="5040", name="Travel")


@dataclass
class Sinks:
    vendors: VendorsSink
    bills: BillsSink


@dataclass
class Flow:
    world: BillWorld
    source_id: str
    link_id: str
    outcomes: list[SyncOutcome] = field(default_factory=list)

    @asynccontextmanager
    async def sinks(self) -> AsyncIterator[Sinks]:
        async def keep(event: SyncOutcome, *, cause: Event) -> None:
            self.outcomes.append(event)

        outcomes = Outcomes(keep, service="bill")
        holder, ttl = f"bill-{uuid4().hex}", timedelta(seconds=30)
        async with self.world.access() as access:
            bills = BillsSink(
                store=self.world.store, access=access, outcomes=outcomes, holder=holder,
                lease_ttl=ttl,
            )  # fmt: skip
            vendors = VendorsSink(
                store=self.world.store, access=access, outcomes=outcomes, holder=holder,
                lease_ttl=ttl, arrived=bills.vendor_arrived,
            )  # fmt: skip
            yield Sinks(vendors, bills)

    def vendor(
        self, vendor_id: str, name: str, *, version: int = 1, **changes: Any
    ) -> VendorChanged:
        values: dict[str, Any] = {
            "connection_id": self.source_id,
            "occurred_at": _BASE + timedelta(minutes=version),
            "source_updated_at": _BASE + timedelta(minutes=version),
            "vendor_id": vendor_id,
            "name": name,
            "email": f"ap@{vendor_id}.example",
            "active": True,
        }
        return VendorChanged(**{**values, **changes})

    def bill(
        self,
        bill_id: str,
        number: str,
        vendor: tuple[str, str],
        *,
        lines: tuple[tuple[str, AccountRef], ...] = (("100.00", SOFTWARE),),
        version: int = 1,
        **changes: Any,
    ) -> BillChanged:
        bill_lines = tuple(
            BillLine(amount=Decimal(amount), account=account, description=f"line {n}")
            for n, (amount, account) in enumerate(lines)
        )
        subtotal = sum((line.amount for line in bill_lines), Decimal(0))
        values: dict[str, Any] = {
            "connection_id": self.source_id,
            "occurred_at": _BASE + timedelta(minutes=version),
            "source_updated_at": _BASE + timedelta(minutes=version),
            "bill_id": bill_id,
            "bill_number": number,
            "vendor": VendorRef(vendor_id=vendor[0], name=vendor[1]),
            "issue_date": date(2026, 11, 1),
            "due_date": date(2026, 12, 1),
            "currency": "USD",
            "subtotal": subtotal,
            "total": subtotal,
            "status": "open",
            "lines": bill_lines,
        }
        return BillChanged(**{**values, **changes})

    def last(self, entity_key: str) -> SyncOutcome:
        return [o for o in self.outcomes if o.entity_key == entity_key][-1]

    async def set_options(self, **options: Any) -> None:
        async with self.world.store.transaction() as repos:
            await repos.links.update(self.link_id, options=options)

    async def bills_numbered(self, number: str) -> list[dict[str, Any]]:
        return [
            b for b in await self.world.state("bills") if b["invoice"]["invoiceNumber"] == number
        ]


@pytest.fixture
async def flow(tmp_path: Path) -> AsyncIterator[Flow]:
    async with bill_world(tmp_path) as world:
        async with world.store.transaction() as repos:
            source = await repos.connections.create(
                vendor="freshbooks", tenant_id="default", display_name="Books"
            )
            link = await repos.links.create(
                source_connection_id=source.id, target_connection_id=world.connection_id, flow=FLOW
            )
        made = Flow(world, source.id, link.id)
        await made.set_options(account_map={"5031": "6100"})
        yield made


async def test_a_bill_waits_for_its_vendor_then_is_written_on_the_mapped_account(
    flow: Flow,
) -> None:
    pixel = ("5", "Pixel & Co")
    async with flow.sinks() as sinks:
        await sinks.bills.bill_changed(flow.bill("101", "PX-1", pixel))
        waiting = flow.last("101")
        assert await flow.bills_numbered("PX-1") == []
        await sinks.vendors.vendor_changed(flow.vendor(*pixel))

    assert (waiting.status, waiting.operation) == ("waiting", "wait_for_vendor")
    assert flow.last("5").operation == "create_vendor"
    written = flow.last("101")
    assert (written.status, written.operation) == ("applied", "create_bill")
    [bill] = await flow.bills_numbered("PX-1")
    assert bill["vendorName"] == "Pixel & Co"
    software = [
        c for c in await flow.world.state("chart_of_accounts") if c["account"]["number"] == "6100"
    ]
    assert bill["billLineItems"][0]["classifications"]["chartOfAccountId"] == software[0]["id"]
    assert written.target_ids["bill"] == bill["id"]


async def test_a_vendor_bill_has_is_found_and_two_bills_share_it(flow: Flow) -> None:
    adobe = ("7", "adobe inc. ")
    async with flow.sinks() as sinks:
        await sinks.vendors.vendor_changed(flow.vendor(*adobe, email="billing@adobe.example"))
        await sinks.bills.bill_changed(flow.bill("201", "ADB-1", adobe))
        await sinks.bills.bill_changed(flow.bill("202", "ADB-2", adobe, lines=(("35.50", TRAVEL),)))

    assert flow.last("7").operation.startswith("adopt_vendor")
    vendors = [
        v for v in await flow.world.state("vendors") if v["name"].lower().startswith("adobe")
    ]
    assert len(vendors) == 1
    assert {flow.last("201").operation, flow.last("202").operation} == {"create_bill"}
    [travel_bill] = await flow.bills_numbered("ADB-2")
    assert travel_bill["vendorId"] == vendors[0]["id"]  # Travel matched BILL's Travel by name


async def test_an_unmapped_account_waits_for_review_and_is_written_once_after_the_fix(
    flow: Flow,
) -> None:
    studio = ("8", "Studio Nine")
    books = AccountRef(account_id="5999", name="Books and Subscriptions")
    event = flow.bill("301", "SN-1", studio, lines=(("20.00", SOFTWARE), ("12.00", books)))
    async with flow.sinks() as sinks:
        await sinks.vendors.vendor_changed(flow.vendor(*studio))
        await sinks.bills.bill_changed(event)
        review = flow.last("301")
        await sinks.bills.bill_changed(event)  # redelivered: still one review item
        async with flow.world.store.transaction() as repos:
            items = await repos.review_queue.list(link_id=flow.link_id)
        assert await flow.bills_numbered("SN-1") == []  # nothing written in part

        await flow.set_options(account_map={"5031": "6100", "5999": "Office Supplies"})
        await sinks.bills.bill_changed(event)  # re-driven
        await sinks.bills.bill_changed(event)

    assert review.status == "needs_review"
    assert "'Books and Subscriptions' (id 5999)" in review.detail
    assert "account_map" in review.detail
    assert [(i.reason, i.payload["entity_key"]) for i in items] == [("bill_needs_review", "301")]
    assert "5999" in items[0].payload["note"]
    assert [o.operation for o in flow.outcomes if o.entity_key == "301"][-2:] == [
        "create_bill",
        "compare",
    ]
    [bill] = await flow.bills_numbered("SN-1")
    assert bill["amount"] == 32.0


async def test_the_same_bill_entered_twice_is_written_once_and_the_second_flagged(
    flow: Flow,
) -> None:
    getty = ("9", "Getty Images")
    async with flow.sinks() as sinks:
        await sinks.vendors.vendor_changed(flow.vendor(*getty))
        await sinks.bills.bill_changed(flow.bill("401", "GI-77", getty))
        await sinks.bills.bill_changed(flow.bill("402", " gi-77", getty))

    assert flow.last("401").operation == "create_bill"
    second = flow.last("402")
    assert second.status == "needs_review"
    assert "entered twice" in second.detail
    assert "401" in second.detail
    assert len(await flow.bills_numbered("GI-77")) == 1


async def test_an_edit_before_payment_replaces_one_after_waits_and_a_deleted_bill_is_archived(
    flow: Flow,
) -> None:
    maya = ("10", "Maya Chen Design")
    async with flow.sinks() as sinks:
        await sinks.vendors.vendor_changed(flow.vendor(*maya))
        await sinks.bills.bill_changed(flow.bill("501", "MC-1", maya))
        await sinks.bills.bill_changed(
            flow.bill("501", "MC-1", maya, version=2, lines=(("150.00", SOFTWARE),))
        )
        edited = flow.last("501")
        [bill] = await flow.bills_numbered("MC-1")
        paid = await flow.world.control.post(
            "/_sandbox/actions/pay_bill", json={"bill_id": bill["id"], "amount": 50}
        )
        assert paid.is_success, paid.text
        await sinks.bills.bill_changed(
            flow.bill("501", "MC-1", maya, version=3, lines=(("175.00", SOFTWARE),))
        )
        after_payment = flow.last("501")

        await sinks.bills.bill_changed(flow.bill("502", "MC-2", maya))
        await sinks.bills.bill_changed(flow.bill("502", "MC-2", maya, version=2, status="void"))

    assert (edited.status, edited.operation) == ("applied", "update_bill")
    assert after_payment.status == "needs_review"
    assert "paid or scheduled" in after_payment.detail
    [bill] = await flow.bills_numbered("MC-1")
    assert bill["amount"] == 150.0
    assert flow.last("502").operation == "archive_bill"
    [archived] = await flow.bills_numbered("MC-2")
    assert archived["archived"] is True


async def test_a_bill_paid_outside_bill_is_not_sent_to_be_paid_again(flow: Flow) -> None:
    figma = ("11", "Figma, Inc.")
    async with flow.sinks() as sinks:
        await sinks.vendors.vendor_changed(flow.vendor(*figma))
        await sinks.bills.bill_changed(flow.bill("601", "FG-1", figma, status="paid"))
        await sinks.bills.bill_changed(
            flow.bill("602", "FG-2", figma, status="partially_paid", amount_due=Decimal("40.00"))
        )

    paid = flow.last("601")
    assert (paid.status, paid.detail) == (
        "unchanged",
        "paid in the source already: not sent to BILL to pay again",
    )
    partly = flow.last("602")
    assert partly.status == "needs_review"
    assert "partly paid outside BILL" in partly.detail
    assert await flow.bills_numbered("FG-1") == await flow.bills_numbered("FG-2") == []


async def test_the_chart_of_accounts_is_read_once_and_again_for_an_account_added_since(
    flow: Flow,
) -> None:
    studio = ("9", "Studio Ten")
    books = AccountRef(account_id="5999", name="Books and Subscriptions")

    def chart_reads(logged: list[dict[str, Any]]) -> int:
        return sum(1 for r in logged if r["path"].endswith("/classifications/chart-of-accounts"))

    async with flow.sinks() as sinks:
        await sinks.vendors.vendor_changed(flow.vendor(*studio))
        await sinks.bills.bill_changed(flow.bill("401", "ST-1", studio))
        await sinks.bills.bill_changed(flow.bill("402", "ST-2", studio))
        reads_for_two = chart_reads(await flow.world.requests())

        # A bookkeeper adds the account in BILL while the chart read for ST-1 is kept.
        [row] = [
            c
            for c in await flow.world.state("chart_of_accounts")
            if c["account"]["number"] == "6100"
        ]
        added = {**row, "id": "0caBOOKSANDSUBS00001", "name": books.name,
                 "account": {**row["account"], "number": "6910"}}  # fmt: skip
        seeded = await flow.world.control.post(
            "/_sandbox/seed", json={"chart_of_accounts": [added]}
        )
        seeded.raise_for_status()
        await sinks.bills.bill_changed(flow.bill("403", "ST-3", studio, lines=(("9.00", books),)))

    assert reads_for_two == 1, "the second bill used the chart read for the first"
    assert chart_reads(await flow.world.requests()) == 2, "read again for the unplaced line"
    written = flow.last("403")
    assert (written.status, written.operation) == ("applied", "create_bill")
    [bill] = await flow.bills_numbered("ST-3")
    assert bill["billLineItems"][0]["classifications"]["chartOfAccountId"] == added["id"]


async def footprint(world: BillWorld) -> tuple[int, dict[str, list[str]]]:
    """BILL's successful writes so far, and the store rows a preview must keep."""
    writes = sum(
        1
        for r in await world.requests()
        if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
        and r["status"] < 400
        and not any(session in r["path"] for session in ("/v3/login", "/v3/logout"))
    )
    return writes, await rows_a_preview_keeps(world.store)


async def previewed(
    flow: Flow, preview: Callable[[EventT, LinkRecord], Awaitable[WriteResult]], event: EventT
) -> WriteResult:
    """A sink's ``preview`` of ``event``, checked to have written nothing."""
    async with flow.world.store.transaction() as repos:
        link = await repos.links.get(flow.link_id)
    assert link is not None
    before = await footprint(flow.world)
    planned = await preview(event, link)
    assert await footprint(flow.world) == before, "a preview wrote"
    return planned


async def test_previews_name_what_the_writes_then_do_and_write_nothing(flow: Flow) -> None:
    pixel = ("12", "Pixel Two")
    books = AccountRef(account_id="5999", name="Books and Subscriptions")
    async with flow.sinks() as sinks:
        bill_waits = await previewed(flow, sinks.bills.preview, flow.bill("701", "P2-1", pixel))
        vendor_new = await previewed(flow, sinks.vendors.preview, flow.vendor(*pixel))
        await sinks.vendors.vendor_changed(flow.vendor(*pixel))
        bill_new = await previewed(flow, sinks.bills.preview, flow.bill("701", "P2-1", pixel))
        unmapped = flow.bill("702", "P2-2", pixel, lines=(("9.00", books),))
        bill_review = await previewed(flow, sinks.bills.preview, unmapped)
        await sinks.bills.bill_changed(unmapped)
        archived = flow.vendor(*pixel, version=2, active=False)
        vendor_gone = await previewed(flow, sinks.vendors.preview, archived)
        await sinks.vendors.vendor_changed(archived)

    assert (bill_waits.status, bill_waits.operation) == ("waiting", "wait_for_vendor")
    assert (vendor_new.action, vendor_new.operation) == ("create", "create_vendor")
    assert (bill_new.action, bill_new.operation) == ("create", "create_bill")
    assert (bill_review.status, bill_review.action) == ("needs_review", "review")
    review = flow.last("702")
    assert (review.status, review.detail) == ("needs_review", bill_review.detail)
    assert (vendor_gone.action, vendor_gone.operation) == ("deactivate", "archive_vendor")
    assert flow.last("12").operation == "archive_vendor"


async def test_a_vendor_applied_for_one_link_writes_the_bills_that_waited_for_it(
    flow: Flow,
) -> None:
    """What a replay does (``apply``, no subscriber): the parked bill is written too."""
    lumen = ("13", "Lumen Labs")
    async with flow.sinks() as sinks:
        await sinks.bills.bill_changed(flow.bill("801", "LL-1", lumen))
        async with flow.world.store.transaction() as repos:
            link = await repos.links.get(flow.link_id)
        assert link is not None
        vendor = await sinks.vendors.apply(flow.vendor(*lumen), link)

    assert vendor.operation == "create_vendor"
    written = flow.last("801")
    assert (written.status, written.operation) == ("applied", "create_bill")
    assert len(await flow.bills_numbered("LL-1")) == 1
