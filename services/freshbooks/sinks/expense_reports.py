"""The expense-reports sink: each approved Expensify report booked once in FreshBooks.

Flow ``expenses``: the reimbursable expenses become one bill to the employee's bill vendor
(the firm owes them), every other line a FreshBooks expense (``mapping.py`` says what each
receives). Before the first write every reference is resolved (``report_references.py``);
one that is missing writes nothing and sends the whole report to the review queue, one
reason per missing reference, each with its fix. A bookkeeper fixes the mapping and
re-drives the item; the report is then written once.

Exactly once in effect is the runtime's idempotent upsert (``services/runtime/upsert.py``),
per report: one cross-reference for its bill and one per company-paid expense.

- Find: each record by its cross-reference, else by its natural key -- the bill by its
  number (the report id) among the vendor's bills, an expense by the marker its notes carry
  among the expenses of its day. A crash between the bill and the expenses (or between a
  create and its bookkeeping) is found again, and the rest is written, never twice.
- A report seen again with the same expenses is ``unchanged``. One whose expenses changed
  after it was written (rejected, edited, approved again) is not written a second time: it
  waits for a person with a note saying what FreshBooks already has (``needs_review``).
- A test-report prefix (the link's ``test_report_prefix``) keeps every other report out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Final

import orjson

from schemas.expense import ExpenseLine, ExpenseReportApproved
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.client import FreshBooksClient, FreshBooksIdError, FreshBooksRejectedError
from services.freshbooks.mapping import (
    line_amount,
    report_bill_body,
    report_bill_number,
    report_expense_body,
    report_marker,
    report_vendor_body,
)
from services.freshbooks.models import Bill, BillVendor, Expense
from services.freshbooks.report_references import (
    Missing,
    ReferenceResolver,
    ReportReferences,
    is_reimbursed,
)
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.logging import get_logger
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.upsert import AnnounceCreate, IdempotentUpsert, Known, Written

__all__ = ["LEASE_PREFIX", "REPORT_BILL", "REVIEW_REASON", "ExpenseReportsSink", "expense_kind"]

REPORT_BILL: Final = "report_bill"  # cross-reference kind: the report's FreshBooks bill
LEASE_PREFIX: Final = "freshbooks-expense-report"
REVIEW_REASON: Final = "expense_report_needs_review"
TEST_PREFIX: Final = "test_report_prefix"
SERVICE: Final = "freshbooks"
_DELETED: Final = 1

_log = get_logger(__name__)


def expense_kind(expense_id: str) -> str:
    """Cross-reference kind of one company-paid line's FreshBooks expense."""
    return f"report_expense:{expense_id}"


class ExpenseReportsSink:
    """Books approved expense reports in the FreshBooks account each link targets."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: FreshBooksAccess,
        settings: FreshBooksSettings,
        outcomes: Outcomes,
        holder: str,
        upsert: IdempotentUpsert | None = None,
    ) -> None:
        """``upsert`` replaces the kit's default (the contract suite plays a crash there)."""
        self._store = store
        self._access = access
        self._outcomes = outcomes
        self._references = ReferenceResolver(store=store, keep_seconds=settings.lists_seconds)
        self._upsert = upsert or IdempotentUpsert(
            store=store,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.report_lease_seconds),
        )

    async def report_approved(self, event: ExpenseReportApproved) -> None:
        """One booking per expenses link from the report's Expensify connection."""
        for link in await self._access.expense_links_from(event.connection_id):
            if self.accepts(event, link):
                await self._outcomes.attempt(
                    event, link, event.entity_key, partial(self.apply, event, link)
                )

    def accepts(self, event: ExpenseReportApproved, link: LinkRecord) -> bool:
        """Every report of the link's Expensify connection (the test prefix is ``_book``'s:
        a report it keeps out still gets a ``skip`` outcome)."""
        return event.connection_id == link.source_connection_id

    async def apply(self, event: ExpenseReportApproved, link: LinkRecord) -> WriteResult:
        """Book ``event`` for ``link``, or queue it for a person with each missing reference."""
        result, reasons = await self._book(event, link)
        if result.status == "needs_review":
            await self._queue_for_review(event, link, result.detail, reasons)
        return result

    async def preview(self, event: ExpenseReportApproved, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only (no review item is queued)."""
        result, _ = await self._book(event, link, preview=True)
        if result.status == "needs_review":
            return replace(result, action="review")
        return result

    async def _book(
        self, event: ExpenseReportApproved, link: LinkRecord, *, preview: bool = False
    ) -> tuple[WriteResult, list[Missing]]:
        """Book ``event`` for ``link`` (or, with ``preview``, say what booking would do); the
        outcome, and the missing references if any."""
        prefix = str(link.options.get(TEST_PREFIX) or "")
        if not (event.report_name or "").startswith(prefix):
            detail = f"not a test report: its title does not start with {prefix!r}"
            return WriteResult("unchanged", "skip", detail=detail), []
        wanted = _sum(event.expenses)
        if wanted != event.total:
            detail = (
                f"the report's total {event.total} {event.currency} is not the sum of its "
                f"expenses {wanted}: neither is booked; a person decides"
            )
            return WriteResult("needs_review", "check_total", detail=detail), []
        client = await self._access.client(link.target_connection_id)
        resolved = await self._references.resolve(event, link, client)
        if isinstance(resolved, list):
            detail = "; ".join(reason.sentence() for reason in resolved)
            return WriteResult("needs_review", "resolve_references", detail=detail), resolved
        report = _Report(event, client, resolved)
        if preview:
            return await self._upsert.preview(link, event, report), []
        try:
            return await self._upsert.apply(link, event, report), []
        except (FreshBooksRejectedError, FreshBooksIdError) as error:
            # Perhaps a category or vendor removed since the lists were read.
            self._references.forget(link.target_connection_id)
            return WriteResult("needs_review", "write_report", detail=str(error)), []

    async def _queue_for_review(
        self, event: ExpenseReportApproved, link: LinkRecord, note: str, reasons: list[Missing]
    ) -> None:
        """One review item per (link, report): reopened with the new reasons when a re-drive
        fails again."""
        async with self._store.transaction() as repos:
            item = await repos.review_queue.raise_item(
                service=SERVICE,
                reason=REVIEW_REASON,
                link_id=link.id,
                entity_key=event.entity_key,
                note=note,
                event=orjson.loads(event.model_dump_json()),
                reasons=[reason.as_json() for reason in reasons],
            )
        _log.info("expense_report.review_queued", link=link.id, report=event.report_id,
                  item=item.id)  # fmt: skip


class _Report:
    """One attempt at one report: the FreshBooks half of the upsert."""

    lease_prefix = LEASE_PREFIX

    def __init__(
        self, event: ExpenseReportApproved, client: FreshBooksClient, refs: ReportReferences
    ) -> None:
        self._event = event
        self._client = client
        self._refs = refs
        self._billed = [line for line in event.expenses if is_reimbursed(line)]
        self._spent = [line for line in event.expenses if not is_reimbursed(line)]
        self._bill: Bill | None = None
        self._expenses: dict[str, Expense] = {}
        self._conflict = ""
        self._adopted = False

    @property
    def reference_kinds(self) -> tuple[str, ...]:
        return (REPORT_BILL, *(expense_kind(line.expense_id) for line in self._spent))

    @property
    def fingerprint(self) -> str:
        """What the report says: its expenses and total, not when it was approved."""
        said = orjson.loads(self._event.model_dump_json(include={"expenses", "total", "currency"}))
        return hashlib.sha256(orjson.dumps(said, option=orjson.OPT_SORT_KEYS)).hexdigest()

    async def find(self, known: Known) -> None:
        written_before = [ref for ref in known.references.values() if ref.fingerprint]
        if any(ref.fingerprint != self.fingerprint for ref in written_before):
            kinds = ", ".join(sorted(ref.target_kind for ref in written_before))
            self._conflict = f"FreshBooks already has it as written before ({kinds})"
            return
        ref = known.references.get(REPORT_BILL)
        if self._billed:
            self._bill = await self._client.bill(ref.target_id) if ref else None
            vendor = self._refs.vendor
            if self._bill is None and vendor is not None:
                self._bill = _the_bill(await self._client.bills_of_vendor(vendor.vendorid),
                                       report_bill_number(self._event))  # fmt: skip
                self._adopted = self._bill is not None
        by_day: dict[str, list[Expense]] = {}
        for line in self._spent:
            ref = known.references.get(expense_kind(line.expense_id))
            found = await self._client.get_expense(ref.target_id) if ref else None
            if found is None:
                day = line.spent_on.isoformat()
                if day not in by_day:
                    by_day[day] = await self._client.expenses_on(line.spent_on)
                found = _marked(by_day[day], report_marker(self._event.report_id, line.expense_id))
                self._adopted = self._adopted or found is not None
            if found is not None and found.vis_state != _DELETED:
                self._expenses[line.expense_id] = found

    def _review(self) -> str:
        """Why a person must look before anything is written ("" when nobody must)."""
        if self._conflict:
            return (
                f"report {self._event.report_id} changed in Expensify after it was booked "
                f"({self._conflict}): not booked twice; compare it with FreshBooks, correct "
                "one of them by hand, then resolve this item"
            )
        if self._bill is not None and _bill_total(self._bill) != _total(self._billed):
            return (
                f"FreshBooks bill {self._bill.id} ({report_bill_number(self._event)}) has "
                f"{_bill_total(self._bill)}, the report's reimbursable expenses "
                f"{_total(self._billed)}: not booked twice; a person decides"
            )
        return ""

    async def plan(self) -> Written:
        return await self._make_true(None)

    async def write(self, announce_create: AnnounceCreate) -> Written:
        return await self._make_true(announce_create)

    async def _make_true(self, announce_create: AnnounceCreate | None) -> Written:
        """The write; without ``announce_create`` (a plan) the same decisions, no call made
        (a bill vendor to create included)."""
        written = Written(unchanged_detail="FreshBooks already has the bill and the expenses")
        written.review = self._review()
        if written.review:
            return written
        if self._adopted:
            written.operations.append("adopt_report")
        announced = False

        async def announce_once() -> None:
            nonlocal announced
            if announce_create is not None and not announced:
                await announce_create()
                announced = True

        if self._billed and self._bill is None:
            if self._refs.vendor is None:
                written.operations.append("create_bill_vendor")
            written.operations.append("create_bill")
            if announce_create is not None:
                await announce_once()
                vendor = self._refs.vendor or await self._client.create_bill_vendor(
                    report_vendor_body(self._event)
                )
                self._bill = await self._client.create_bill(self._bill_body(vendor))
        if self._bill is not None:
            written.target_ids[REPORT_BILL] = str(self._bill.id)
        for line in self._spent:
            expense = self._expenses.get(line.expense_id)
            if expense is None:
                written.operations.append("create_expense")
                if announce_create is not None:
                    await announce_once()
                    expense = await self._client.create_expense(self._expense_body(line))
            if expense is not None:
                written.target_ids[expense_kind(line.expense_id)] = str(expense.id)
        return written

    def _bill_body(self, vendor: BillVendor) -> dict[str, object]:
        return report_bill_body(
            self._event,
            self._billed,
            vendor_id=vendor.vendorid,
            categories=self._refs.categories,
            tags=self._refs.tags,
            due_days=0,
        )

    def _expense_body(self, line: ExpenseLine) -> dict[str, object]:
        return report_expense_body(
            self._event,
            line,
            category_id=self._refs.categories[line.expense_id],
            staff_id=self._refs.staff_id,
            tag=self._refs.tags.get(line.expense_id, ""),
        )

    async def record(self, repos: Repositories, written: Written) -> None:
        return None


def _the_bill(bills: list[Bill], number: str) -> Bill | None:
    same = [b for b in bills if (b.bill_number or "") == number and b.vis_state != _DELETED]
    return min(same, key=lambda b: b.id, default=None)


def _marked(expenses: list[Expense], marker: str) -> Expense | None:
    found = [e for e in expenses if marker in (e.notes or "") and e.vis_state != _DELETED]
    return min(found, key=lambda e: e.id, default=None)


def _sum(lines: Sequence[ExpenseLine]) -> Decimal:
    """The lines' amounts in the report's currency."""
    return sum((line_amount(line) for line in lines), Decimal(0))


def _total(lines: list[ExpenseLine]) -> str:
    return f"{_sum(lines):.2f}"


def _bill_total(bill: Bill) -> str:
    return f"{Decimal(bill.amount.amount):.2f}"
