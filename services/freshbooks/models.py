"""FreshBooks' own JSON, the fields we use, named as FreshBooks names them (sheet section 7)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Bill",
    "BillLine",
    "BillPayment",
    "BillVendor",
    "Expense",
    "ExpenseCategory",
    "LedgerAccount",
    "Money",
    "Staff",
    "TeamMember",
]


class _Vendor(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Staff(_Vendor):
    """``/accounting/account/{account_id}/users/staffs``: the accounting person an expense names."""

    id: int
    fname: str | None = None
    lname: str | None = None
    email: str | None = None
    vis_state: int = 0  # 0 active, 1 deleted, 2 archived (section 6)


class TeamMember(_Vendor):
    """``/auth/api/v1/businesses/{business_id}/team_members``: read-only through the API."""

    uuid: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    active: bool = True
    identity_id: int | None = None  # None until the invitation is accepted


class Expense(_Vendor):
    """``/accounting/account/{account_id}/expenses/expenses``: tied to a person by ``staffid``."""

    id: int
    staffid: int
    notes: str | None = Field(default=None)
    vis_state: int = 0
    categoryid: int | None = None
    date: str | None = None
    amount: Money | None = None


class ExpenseCategory(_Vendor):
    """``.../expenses/categories``: what an expense or a bill line is booked to (section 7.3)."""

    id: int
    category: str
    parentid: int | None = None
    vis_state: int = 0


class LedgerAccount(_Vendor):
    """``/accounting/businesses/{uuid}/ledger_accounts/accounts``: the chart (section 7.7)."""

    uuid: str
    name: str
    number: str | None = None
    type: str | None = None
    state: str | None = None


class Money(_Vendor):
    """FreshBooks' money: a decimal string and its currency (section 4)."""

    amount: str
    code: str | None = None


class BillVendor(_Vendor):
    """``.../bill_vendors/bill_vendors``: a supplier bills are entered against (section 7.5)."""

    vendorid: int
    vendor_name: str
    primary_contact_email: str | None = None
    primary_contact_first_name: str | None = None
    primary_contact_last_name: str | None = None
    account_number: str | None = None
    currency_code: str | None = None
    phone: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = None
    country: str | None = None
    vis_state: int = 0
    updated_at: str | None = None  # UTC, "YYYY-MM-DD HH:MM:SS" (section 3)


class BillLineCategory(_Vendor):
    categoryid: int | None = None
    category: str | None = None


class BillLine(_Vendor):
    """One line of a bill, with its expense category embedded (section 7.4)."""

    description: str | None = None
    quantity: str | None = None
    unit_cost: Money | None = None
    amount: Money
    categoryid: int
    category: BillLineCategory | None = None


class BillPayment(_Vendor):
    """``.../bill_payments/bill_payments``: money paid against one bill (section 7.6)."""

    id: int
    billid: int
    amount: Money
    payment_type: str | None = None
    paid_date: str | None = None
    note: str | None = None
    vis_state: int = 0


class Bill(_Vendor):
    """``.../bills/bills``: a bill with its computed totals and status (section 7.4)."""

    id: int
    vendorid: int
    bill_number: str | None = None
    issue_date: str
    due_date: str | None = None
    currency_code: str
    overall_description: str | None = None
    amount: Money
    tax_amount: Money | None = None
    total_amount: Money
    outstanding: Money | None = None
    status: str = "unpaid"  # unpaid | partial | paid | overdue
    lines: list[BillLine] = Field(default_factory=list)
    bill_payments: list[BillPayment] = Field(default_factory=list)  # the active ones
    vis_state: int = 0
    updated_at: str | None = None  # UTC, "YYYY-MM-DD HH:MM:SS" (section 3)
