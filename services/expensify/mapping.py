"""An exported Expensify report as the canonical ``ExpenseReportApproved``.

Facts: ``../shared/vendors/expensify.md`` sections 5 and 12. What our template prints
(``template.py``) becomes:

======================  =================================================================
``report_id``           ``reportID`` (the numeric id of the API, not the UI's ``R00...``)
``employee_email``      ``accountEmail``, the report's creator, lower-cased
``currency``, ``total`` the report's currency; ``total`` from cents
``approved_at``         ``approved`` [inferred: "yyyy-mm-dd hh:mm:ss" or a date, UTC; open
                        question 6]; also the snapshot's ``source_updated_at``, so a report
                        approved again after a rejection is a newer revision
each expense            ``merchant`` and ``created`` as edited (``modified*``) when edited;
                        the amount as Expensify's own sample templates take it: converted,
                        else edited, else original (sheet 5) -- in the report's currency
                        ``amount`` is the converted amount; in another, ``amount`` is the
                        edited (else original) amount in that currency and
                        ``converted_amount`` the report currency's; ``category`` and its GL
                        code; ``tag`` as one string, levels joined by ':' (an escaped colon
                        kept as Expensify writes it); ``card_transaction`` when it came from
                        a card feed (``cardID``); ``reimbursable`` and ``billable`` as
                        flagged
======================  =================================================================

A report without expenses is no expense report to book: :func:`report_approved` returns
None and the source says so in its log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from schemas.expense import ExpenseLine, ExpenseReportApproved
from services.expensify.template import ExportedExpense, ExportedReport

__all__ = ["approved_at", "cents", "report_approved"]

_CENT = Decimal("0.01")


def cents(value: int) -> Decimal:
    """Expensify's integer cents as money (sheet 12)."""
    return (Decimal(value) * _CENT).quantize(_CENT)


def approved_at(text: str) -> datetime | None:
    """The report's ``approved`` stamp as an aware datetime (UTC), None when absent or odd."""
    text = text.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _line(expense: ExportedExpense, report_currency: str) -> ExpenseLine | None:
    spent_on = _day(expense.modified_created) or _day(expense.created)
    if spent_on is None:
        return None
    currency = expense.currency or report_currency
    own = expense.modified_amount if expense.modified_amount is not None else expense.amount
    if currency == report_currency:
        amount, converted = (expense.converted_amount or own), None
    else:
        amount, converted = own, cents(expense.converted_amount)
    return ExpenseLine(
        expense_id=expense.transaction_id,
        merchant=expense.modified_merchant or expense.merchant,
        spent_on=spent_on,
        amount=cents(amount),
        currency=currency,
        converted_amount=converted,
        category=expense.category or None,
        category_code=expense.category_gl_code or None,
        tags=(expense.tag,) if expense.tag else (),
        comment=expense.comment or None,
        receipt_url=expense.receipt_url or None,
        reimbursable=expense.reimbursable,
        card_transaction=bool(expense.card_id),
        billable=expense.billable,
    )


def report_approved(
    report: ExportedReport, *, connection_id: str, fallback_approved_at: datetime
) -> ExpenseReportApproved | None:
    """The canonical snapshot of ``report``; None when it has no bookable expense.

    ``fallback_approved_at`` stands in for an ``approved`` stamp Expensify left empty (a
    report exported in an approved state always has one; the poll's time is the safe
    guess: later than any earlier poll's).
    """
    lines = [line for e in report.expenses if (line := _line(e, report.currency)) is not None]
    if not lines or not report.employee_email:
        return None
    approved = approved_at(report.approved) or fallback_approved_at
    return ExpenseReportApproved(
        connection_id=connection_id,
        occurred_at=approved,
        source_updated_at=approved,
        report_id=report.report_id,
        report_name=report.report_name or None,
        employee_email=report.employee_email.strip().lower(),
        policy_id=report.policy_id or None,
        currency=report.currency,
        total=cents(report.total),
        approved_at=approved,
        expenses=tuple(lines),
    )
