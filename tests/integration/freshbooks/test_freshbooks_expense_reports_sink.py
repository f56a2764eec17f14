"""Flow expenses' sink: approved Expensify reports booked in FreshBooks, with the FreshBooks
sandbox on a socket (real HTTP, SQLite).

A report becomes one bill to the employee (its reimbursable lines) and one expense per card
line, each on the category its mapping or its GL code names; the same report again changes
nothing; a category nothing names sends the whole report to review and it is written once
after the fix; a report changed after it was booked waits for a person; an employee with no
bill vendor waits unless the link creates one; a failure between the bill and the expenses
is completed, never doubled; a test prefix keeps other reports out.
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

from schemas.envelope import Event
from schemas.expense import ExpenseLine, ExpenseReportApproved
from schemas.outcomes import SyncOutcome
from services.freshbooks.access import EXPENSES_FLOW, FreshBooksAccess
from services.freshbooks.client import FreshBooksUnavailableError
from services.freshbooks.sinks.expense_reports import ExpenseReportsSink
from services.runtime.outcomes import Outcomes
from tests.integration.freshbooks.fb_sink_harness import SinkWorld, sink_world

_APPROVED = datetime(2026, 11, 7, 10, 2, tzinfo=UTC)
DANIEL = "daniel.okafor@acmecreative.example"
AIRFARE, RESTAURANTS, SOFTWARE, OTHER = 3026, 3009, 3014, 3015


@dataclass
class Books:
    world: SinkWorld
    expensify_connection_id: str
    link_id: str
    access: FreshBooksAccess
    sink: ExpenseReportsSink | None = None
    outcomes: list[SyncOutcome] = field(default_factory=list)

    async def book(self, event: ExpenseReportApproved) -> SyncOutcome:
        assert self.sink is not None
        await self.sink.report_approved(event)
        return [o for o in self.outcomes if o.entity_key == event.entity_key][-1]

    async def set_options(self, **options: Any) -> None:
        async with self.world.store.transaction() as repos:
            await repos.links.update(self.link_id, options=options)

    async def map(self, kind: str, source: str, target: str) -> None:
        async with self.world.store.transaction() as repos:
            await repos.mappings.put(self.link_id, kind, source, target)

    async def bills_numbered(self, number: str) -> list[dict[str, Any]]:
        return [
            b
            for b in await self.world.state("bills")
            if b.get("bill_number") == number and b["vis_state"] == 0
        ]

    async def expenses_marked(self, report_id: str) -> list[dict[str, Any]]:
        return [
            e
            for e in await self.world.state("expenses")
            if f"[Expensify {report_id}/" in str(e.get("notes") or "") and e["vis_state"] == 0
        ]

    async def review_items(self) -> list[Any]:
        async with self.world.store.transaction() as repos:
            return await repos.review_queue.list(status="open", link_id=self.link_id)


def line(
    expense_id: str,
    amount: str,
    category: str,
    code: str,
    *,
    card: bool = False,
    tag: str = "Strategy",
) -> ExpenseLine:
    return ExpenseLine(
        expense_id=expense_id,
        merchant=f"Merchant {expense_id}",
        spent_on=date(2026, 11, 3),
        amount=Decimal(amount),
        currency="USD",
        category=category,
        category_code=code,
        tags=(tag,),
        reimbursable=not card,
        card_transaction=card,
    )


def report(
    report_id: str,
    *lines: ExpenseLine,
    email: str = DANIEL,
    name: str = "Initech pitch, Chicago",
    approved: datetime = _APPROVED,
    connection_id: str = "",
) -> ExpenseReportApproved:
    return ExpenseReportApproved(
        connection_id=connection_id,
        occurred_at=approved,
        source_updated_at=approved,
        report_id=report_id,
        report_name=name,
        employee_email=email,
        employee_name=None,
        currency="USD",
        total=sum((x.amount for x in lines), Decimal(0)),
        approved_at=approved,
        expenses=lines,
    )


@pytest.fixture
async def books(tmp_path: Path) -> AsyncIterator[Books]:
    async with sink_world(tmp_path) as world:
        async with world.store.transaction() as repos:
            expensify = await repos.connections.create(
                vendor="expensify", tenant_id="default", display_name="Expensify"
            )
            link = await repos.links.create(
                source_connection_id=expensify.id,
                target_connection_id=world.freshbooks_connection_id,
                flow=EXPENSES_FLOW,
            )
        access = FreshBooksAccess(store=world.store, vault=world.vault, settings=world.settings)
        made = Books(world, expensify.id, link.id, access)

        async def keep(event: SyncOutcome, *, cause: Event) -> None:
            made.outcomes.append(event)

        made.sink = ExpenseReportsSink(
            store=world.store,
            access=access,
            settings=world.settings,
            outcomes=Outcomes(keep, service="freshbooks"),
            holder=f"freshbooks-{uuid4().hex}",
        )
        # Daniel is owed money: FreshBooks knows him as a bill vendor.
        await world.action(
            "create_bill_vendor", {"vendor_name": "Daniel Okafor", "primary_contact_email": DANIEL}
        )
        # The seed's ledger numbers Airfare with Expensify's GL code 6110; these two map by
        # name and by GL code.
        await made.map("category", "Meals & Entertainment", "Restaurants/Dining")
        await made.map("gl-account", "6300", str(SOFTWARE))
        try:
            yield made
        finally:
            await access.aclose()


def _report(
    books: Books, report_id: str, *lines: ExpenseLine, **kwargs: Any
) -> ExpenseReportApproved:
    return report(report_id, *lines, connection_id=books.expensify_connection_id, **kwargs)


async def test_a_report_becomes_a_bill_to_the_employee_and_expenses_for_the_card_lines(
    books: Books,
) -> None:
    event = _report(
        books,
        "41000103",
        line("t1", "523.40", "Airfare", "6110"),
        line("t2", "385.00", "Meals & Entertainment", "6200"),
        line("t3", "45.00", "Software & Subscriptions", "6300", card=True),
    )
    first = await books.book(event)
    again = await books.book(event)

    assert (first.status, first.operation) == ("applied", "create_bill+create_expense")
    assert again.status == "unchanged"
    [bill] = await books.bills_numbered("EXP-41000103")
    vendors = {v["vendorid"]: v for v in await books.world.state("bill_vendors")}
    assert vendors[bill["vendorid"]]["primary_contact_email"] == DANIEL
    assert [ln["categoryid"] for ln in bill["lines"]] == [AIRFARE, RESTAURANTS]
    assert bill["total_amount"]["amount"] == "908.40"
    assert "cost centre Strategy" in bill["lines"][0]["description"]
    [expense] = await books.expenses_marked("41000103")
    daniel = [s for s in await books.world.state("staff") if s["email"] == DANIEL]
    assert (expense["categoryid"], expense["staffid"]) == (SOFTWARE, daniel[0]["id"])
    assert expense["amount"]["amount"] == "45.00"
    assert first.target_ids["report_bill"] == str(bill["id"])


async def test_an_unmapped_category_sends_the_whole_report_to_review_then_it_is_written_once(
    books: Books,
) -> None:
    event = _report(
        books,
        "41000201",
        line("g1", "80.00", "Client Gifts", "6250"),
        line("g2", "19.99", "Software & Subscriptions", "6300", card=True),
    )
    review = await books.book(event)
    items = await books.review_items()
    nothing_yet = (
        await books.bills_numbered("EXP-41000201"),
        await books.expenses_marked("41000201"),
    )

    await books.map("category", "client gifts", "Other Expenses")  # the bookkeeper's fix
    written = await books.book(event)  # re-driven
    again = await books.book(event)

    assert (review.status, review.operation) == ("needs_review", "resolve_references")
    assert "Client Gifts (GL 6250)" in review.detail
    assert nothing_yet == ([], []), "nothing is written in part"
    [item] = items
    assert item.payload["entity_key"] == "41000201"
    [reason] = item.payload["reasons"]
    assert reason["missing"] == "expense category"
    assert "mlc mappings set" in reason["fix"]
    assert written.status == "applied"
    assert again.status == "unchanged"
    [bill] = await books.bills_numbered("EXP-41000201")
    assert [ln["categoryid"] for ln in bill["lines"]] == [OTHER]
    assert len(await books.expenses_marked("41000201")) == 1


async def test_a_report_changed_after_it_was_booked_waits_for_a_person(books: Books) -> None:
    booked = _report(books, "41000301", line("c1", "120.00", "Airfare", "6110"))
    edited = _report(
        books,
        "41000301",
        line("c1", "150.00", "Airfare", "6110"),
        approved=_APPROVED + timedelta(days=2),  # rejected, edited, approved again
    )
    assert (await books.book(booked)).status == "applied"
    conflict = await books.book(edited)

    assert conflict.status == "needs_review"
    assert "changed in Expensify after it was booked" in conflict.detail
    [bill] = await books.bills_numbered("EXP-41000301")
    assert bill["total_amount"]["amount"] == "120.00"
    assert [i.payload["entity_key"] for i in await books.review_items()] == ["41000301"]


async def test_an_employee_without_a_bill_vendor_waits_unless_the_link_creates_one(
    books: Books,
) -> None:
    hannah = "hannah.kim@acmecreative.example"
    event = _report(books, "41000401", line("h1", "64.00", "Airfare", "6110"), email=hannah)
    waiting = await books.book(event)
    await books.set_options(create_bill_vendors=True)
    written = await books.book(event)

    assert waiting.status == "needs_review"
    assert f"no FreshBooks bill vendor for {hannah}" in waiting.detail
    assert written.operation == "create_bill_vendor+create_bill"
    created = [v for v in await books.world.state("bill_vendors")
               if v["primary_contact_email"] == hannah]  # fmt: skip
    assert [v["vendor_name"] for v in created] == ["Hannah Kim"]
    assert len(await books.bills_numbered("EXP-41000401")) == 1


async def test_a_failure_between_the_bill_and_the_expenses_is_completed_once(
    books: Books,
) -> None:
    event = _report(
        books,
        "41000501",
        line("f1", "30.00", "Airfare", "6110"),
        line("f2", "12.00", "Software & Subscriptions", "6300", card=True),
        line("f3", "8.00", "Software & Subscriptions", "6300", card=True),
    )
    fault = {"path": "/expenses/expenses$", "method": "POST", "status": 503, "count": 1}
    (await books.world.sandbox.post("/_sandbox/faults", json=fault)).raise_for_status()
    with pytest.raises(FreshBooksUnavailableError):
        await books.book(event)  # the bill is written, the first expense is refused
    failed = books.outcomes[-1]
    completed = await books.book(event)  # Kafka delivers it again

    assert failed.status == "failed"
    assert completed.status == "applied"
    assert completed.operation == "adopt_report+create_expense+create_expense"
    assert len(await books.bills_numbered("EXP-41000501")) == 1
    assert len(await books.expenses_marked("41000501")) == 2


async def test_a_test_prefix_keeps_every_other_report_out(books: Books) -> None:
    await books.set_options(test_report_prefix="MLC TEST")
    other = _report(books, "41000601", line("p1", "10.00", "Airfare", "6110"))
    trial = _report(books, "41000602", line("p2", "11.00", "Airfare", "6110"),
                    name="MLC TEST lunch")  # fmt: skip

    skipped = await books.book(other)
    written = await books.book(trial)

    assert (skipped.status, skipped.operation) == ("unchanged", "skip")
    assert await books.bills_numbered("EXP-41000601") == []
    assert written.status == "applied"
    assert len(await books.bills_numbered("EXP-41000602")) == 1
