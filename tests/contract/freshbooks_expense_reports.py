"""The FreshBooks expense-reports sink bound to the sink contract: the sandbox in-process.

Flow expenses: ``ExpenseReportApproved`` events of an Expensify connection, each a report of
Daniel's with one flight he paid (a bill line, its category found by the GL code the seed's
ledger numbers) and one card spend (an expense, its category mapped by GL code). FreshBooks
consented as ingest does it (``freshbooks_in_process.connect_books``), over httpx's ASGI
transport: no socket, no Kafka.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from schemas.expense import ExpenseLine, ExpenseReportApproved
from schemas.snapshot import Snapshot
from services.freshbooks.access import EXPENSES_FLOW
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sinks.expense_reports import ExpenseReportsSink
from services.runtime.store import StateStore
from services.runtime.vault import Vault
from tests.contract.freshbooks_in_process import (
    freshbooks_previewer,
    freshbooks_sink_replica,
    in_process_books,
)
from tests.contract.sandbox_counts import SandboxCounts
from tests.contract.sink_contract import Deliver, Preview, RecordingPublisher

__all__ = ["FreshBooksExpenseReports", "freshbooks_expense_reports"]

_BASE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DANIEL = "daniel.okafor@acmecreative.example"


@dataclass
class FreshBooksExpenseReports(SandboxCounts):
    not_writes = ("/oauth/", "/auth/")

    app: ASGIApp
    control: httpx.AsyncClient
    store: StateStore
    vault: Vault
    settings: FreshBooksSettings
    expensify_connection_id: str
    published: RecordingPublisher = field(default_factory=RecordingPublisher)
    # A refused create goes back to the bus; a refused read is waited out in place.
    storm: Sequence[Mapping[str, Any]] = (
        {"path": "/expenses/expenses$", "method": "GET", "status": 429, "count": 2,
         "retry_after": 0},
        {"path": "/bills/bills$", "method": "POST", "status": 429, "count": 2},
        {"path": "/expenses/expenses$", "method": "POST", "status": 429, "count": 2},
    )  # fmt: skip

    def record(self, entity: str, *, version: int = 1, variant: int = 0) -> ExpenseReportApproved:
        at = _BASE + timedelta(minutes=version)
        lines = (
            ExpenseLine(expense_id=f"{entity}-flight", merchant="United",
                        spent_on=date(2026, 11, 3), amount=Decimal("100.00") + variant,
                        currency="USD", category="Airfare", category_code="6110",
                        reimbursable=True),
            ExpenseLine(expense_id=f"{entity}-card", merchant="Zoom", spent_on=date(2026, 11, 4),
                        amount=Decimal("15.99"), currency="USD",
                        category="Software & Subscriptions", category_code="6300",
                        reimbursable=False, card_transaction=True),
        )  # fmt: skip
        return ExpenseReportApproved(
            connection_id=self.expensify_connection_id,
            occurred_at=at,
            source_updated_at=at,
            report_id=entity,
            report_name="Contract report",
            employee_email=DANIEL,
            currency="USD",
            total=sum((line.amount for line in lines), Decimal(0)),
            approved_at=at,
            expenses=lines,
        )

    @asynccontextmanager
    async def replica(self, *, crash_before_bookkeeping: bool = False) -> AsyncIterator[Deliver]:
        async with freshbooks_sink_replica(
            self,
            ExpenseReportsSink,
            lease_seconds=self.settings.report_lease_seconds,
            crashing=crash_before_bookkeeping,
        ) as sink:

            async def deliver(snapshot: Snapshot) -> None:
                assert isinstance(snapshot, ExpenseReportApproved)
                await sink.report_approved(snapshot)

            yield deliver

    def previewer(self) -> AbstractAsyncContextManager[Preview]:
        return freshbooks_previewer(
            self, ExpenseReportsSink, lease_seconds=self.settings.report_lease_seconds
        )

    async def created(self, entity: str) -> int:
        """1 when the report's bill and expense each exist once; 0 while either is missing;
        otherwise how many copies the most-copied one has."""
        number = f"EXP-{entity}"
        bills = [b for b in await self.state("bills")
                 if b.get("bill_number") == number and b.get("vis_state") == 0]  # fmt: skip
        expenses = [e for e in await self.state("expenses")
                    if f"[Expensify {entity}/" in str(e.get("notes") or "")
                    and e.get("vis_state") == 0]  # fmt: skip
        counts = (len(bills), len(expenses))
        return min(counts) if min(counts) == 0 else max(counts)


@asynccontextmanager
async def freshbooks_expense_reports(tmp_path: Path) -> AsyncIterator[FreshBooksExpenseReports]:
    """A consented FreshBooks account in an in-process sandbox, the target of an expenses link."""
    async with in_process_books(tmp_path) as books:
        async with books.store.transaction() as repos:
            expensify = await repos.connections.create(
                vendor="expensify", tenant_id="default", display_name="Expensify"
            )
            link = await repos.links.create(
                source_connection_id=expensify.id,
                target_connection_id=books.connection_id,
                flow=EXPENSES_FLOW,
            )
            await repos.mappings.put(link.id, "gl-account", "6300", "Software")
        made = await books.control.post(
            "/_sandbox/actions/create_bill_vendor",
            json={"vendor_name": "Daniel Okafor", "primary_contact_email": DANIEL},
        )
        made.raise_for_status()
        await books.control.delete("/_sandbox/requests")
        yield FreshBooksExpenseReports(
            app=books.app,
            control=books.control,
            store=books.store,
            vault=books.vault,
            settings=books.settings,
            expensify_connection_id=expensify.id,
        )
