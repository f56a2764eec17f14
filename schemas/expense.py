"""Expense events: an approved expense report with all of its expenses.

The expense source polls for approved reports and publishes each once to
``expense.report``; the accounting sink turns it into bills and expenses. The
report id is the natural key: a sink records it on what it creates and looks
it up before creating anything, so a report exported twice is booked once.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from schemas.snapshot import Snapshot
from schemas.topics import topic
from schemas.values import CurrencyCode, Money, ValueModel

__all__ = ["ExpenseLine", "ExpenseReportApproved"]


class ExpenseLine(ValueModel):
    """One expense on a report, with the values the approver saw (edits applied)."""

    expense_id: str = Field(min_length=1, description="The expense's id in the source.")
    merchant: str = Field(description="Who was paid, as entered or read from the receipt.")
    spent_on: date = Field(description="The day the money was spent.")
    amount: Money = Field(description="The amount in the expense's own currency, major units.")
    currency: CurrencyCode
    converted_amount: Money | None = Field(
        default=None,
        description="The amount in the report's currency, where it differs from currency.",
    )
    category: str | None = Field(
        default=None, description="The expense category by name; mapped to a ledger account."
    )
    category_code: str | None = Field(
        default=None, description="The category's general-ledger code, where the source has one."
    )
    tags: tuple[str, ...] = Field(
        default=(),
        description=(
            "Tags such as a cost centre or department; a multi-level tag is one string with "
            "its levels joined by ':'."
        ),
    )
    comment: str | None = None
    receipt_url: str | None = Field(
        default=None, description="Where the receipt image can be read."
    )
    reimbursable: bool = Field(description="True when the employee paid and is owed the money.")
    card_transaction: bool = Field(
        default=False, description="True when the expense came from a company card feed."
    )
    billable: bool = Field(default=False, description="True when it is to be billed to a client.")


class ExpenseReportApproved(Snapshot):
    """An expense report reached approval, with every expense on it.

    ``total`` is the source's report total in ``currency`` (the report's
    currency). It is not recomputed here: a sink that finds it differs from
    the sum of the expenses (``converted_amount`` or ``amount``) sends the
    report to review rather than booking either number.
    """

    topic_name: ClassVar[str] = topic("expense.report").name
    entity_key_fields: ClassVar[tuple[str, ...]] = ("report_id",)

    type: Literal["ExpenseReportApproved"] = "ExpenseReportApproved"
    schema_version: int = 1

    report_id: str = Field(min_length=1, description="The report's id in the source.")
    report_name: str | None = None
    employee_email: str = Field(
        min_length=1, description="Email of the person who submitted the report."
    )
    employee_name: str | None = None
    policy_id: str | None = Field(
        default=None, description="The source's policy or workspace the report belongs to."
    )
    currency: CurrencyCode = Field(description="The report's currency.")
    total: Money
    approved_at: AwareDatetime = Field(description="When the report was (last) approved.")
    expenses: tuple[ExpenseLine, ...] = Field(min_length=1)
