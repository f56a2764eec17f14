"""Accounts payable: bill vendors, bills with their computed totals, and bill payments.

Bills compute `amount`, `tax_amount`, `total_amount`, `paid`, `outstanding`, `due_date` and
`status` (DOC:bills; the status rule is [inferred]); a payment changes its bill (section 7.6).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.freshbooks.checks import Checks
from sandboxes.freshbooks.resources import (
    BILL_PAYMENTS,
    BILL_VENDORS,
    BILLS,
    CATEGORIES,
    PAYMENT_TYPES,
    public,
)
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.freshbooks.timefmt import eastern_date, money, utc_naive
from sandboxes.kit import Record, SandboxClock, State

__all__ = ["Payables", "bill_line"]

BILL_VENDOR_READ_ONLY = ("id", "vendorid", "created_at", "updated_at")


def bill_line(
    index: int,
    line: Mapping[str, Any],
    *,
    category: Record,
    unit_cost: Decimal,
    quantity: Decimal,
    cost_code: str,
    code: str,
) -> Record:
    """One bill line with its computed amounts and embedded category (DOC:bills)."""
    amount = unit_cost * quantity
    taxes = Decimal(0)
    out: Record = {
        "list_index": index + 1,
        "description": line.get("description", ""),
        "quantity": str(quantity),
        "unit_cost": money(unit_cost, cost_code),
        "amount": money(amount, code),
        "categoryid": int(category["id"]),
        "category": public(category),
    }
    for n in ("1", "2"):
        percent = line.get(f"tax_percent{n}", line.get(f"taxPercent{n}"))
        out[f"tax_name{n}"] = line.get(f"tax_name{n}", line.get(f"taxName{n}"))
        out[f"tax_percent{n}"] = None if percent is None else str(percent)
        tax = amount * Decimal(str(percent)) / 100 if percent not in (None, "") else None
        out[f"tax_amount{n}"] = None if tax is None else money(tax, code)
        taxes += tax or 0
    out["total_amount"] = money(amount + taxes, code)
    return out


class Payables:
    def __init__(
        self, state: State, clock: SandboxClock, settings: FreshBooksSandboxSettings, checks: Checks
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings
        self.checks = checks

    def create_vendor(self, body: Mapping[str, Any]) -> Record:
        self.checks.required(BILL_VENDORS, body, "vendor_name")
        vendor_id = self.state.next_id("bill_vendors")
        now = utc_naive(self.clock.now())
        defaults: Record = {
            "primary_contact_email": None,
            "primary_contact_first_name": None,
            "primary_contact_last_name": None,
            "account_number": None,
            "currency_code": self.checks.currency,
            "language": "en",
            "is_1099": False,
            "phone": None,
            "website": None,
            "street": None,
            "street2": None,
            "city": None,
            "province": None,
            "postal_code": None,
            "country": None,
            "note": None,
            "tax_defaults": [],
        }
        settable = {k: v for k, v in body.items() if k not in BILL_VENDOR_READ_ONLY}
        return {
            **defaults,
            **settable,
            "id": vendor_id,
            "vendorid": vendor_id,
            "outstanding_balance": [],
            "overdue_balance": [],
            "vis_state": 0,
            "created_at": now,
            "updated_at": now,
        }

    def lines(self, lines: object, code: str) -> list[Record]:
        if not isinstance(lines, list) or not lines:
            raise self.checks.invalid(BILLS, "lines", "A bill needs at least one line.", lines)
        result = []
        for index, line in enumerate(lines):
            if not isinstance(line, Mapping):
                raise self.checks.invalid(BILLS, "lines", "Invalid line.", line)
            self.checks.required(BILLS, line, "categoryid", "unit_cost")
            category = self.checks.reference(BILLS, CATEGORIES, "categoryid", line["categoryid"])
            unit_cost, line_code = self.checks.money(BILLS, "unit_cost", line["unit_cost"])
            try:
                quantity = Decimal(str(line.get("quantity", 1)))
                out = bill_line(
                    index,
                    line,
                    category=category,
                    unit_cost=unit_cost,
                    quantity=quantity,
                    cost_code=line_code or code,
                    code=code,
                )
            except InvalidOperation:
                raise self.checks.invalid(
                    BILLS, "lines", "Invalid quantity or tax.", line
                ) from None
            result.append(out)
        return result

    def create_bill(self, body: Mapping[str, Any]) -> Record:
        self.checks.required(BILLS, body, "vendorid", "issue_date", "lines")
        self.checks.reference(BILLS, BILL_VENDORS, "vendorid", body["vendorid"])
        self.checks.day(BILLS, "issue_date", body["issue_date"])
        code = str(body.get("currency_code") or self.checks.currency)
        bill_id = self.state.next_id("bills")
        now = utc_naive(self.clock.now())
        record: Record = {
            "id": bill_id,
            "vendorid": int(body["vendorid"]),
            "bill_number": body.get("bill_number"),
            "issue_date": str(body["issue_date"]),
            "due_offset_days": int(body.get("due_offset_days") or 0),
            "currency_code": code,
            "language": body.get("language", "en"),
            "overall_category": body.get("overall_category"),
            "overall_description": body.get("overall_description"),
            "attachment": None,
            "lines": self.lines(body["lines"], code),
            "vis_state": 0,
            "created_at": now,
            "updated_at": now,
        }
        self.refresh(record)
        return record

    def refresh_all(self) -> None:
        for bill in self.state.records("bills"):
            self.refresh(bill)

    def refresh(self, bill: Record, *, touched: bool = False) -> None:
        """Totals, payments and status, derived as FreshBooks shows them [inferred for status]."""
        code = str(bill["currency_code"])
        subtotal = sum((Decimal(line["amount"]["amount"]) for line in bill["lines"]), Decimal(0))
        total = sum((Decimal(ln["total_amount"]["amount"]) for ln in bill["lines"]), Decimal(0))
        payments = [
            p
            for p in self.state.records("bill_payments")
            if str(p["billid"]) == str(bill["id"]) and int(p.get("vis_state", 0)) == 0
        ]
        paid = sum((Decimal(p["amount"]["amount"]) for p in payments), Decimal(0))
        outstanding = total - paid
        due = date.fromisoformat(bill["issue_date"]) + timedelta(days=int(bill["due_offset_days"]))
        today = eastern_date(self.clock.now())
        if total > 0 and outstanding <= 0:
            status = "paid"
        elif paid > 0:
            status = "partial"
        elif due.isoformat() < today:
            status = "overdue"
        else:
            status = "unpaid"
        bill.update(
            {
                "amount": money(subtotal, code),
                "tax_amount": money(total - subtotal, code),
                "total_amount": money(total, code),
                "paid": money(paid, code),
                "outstanding": money(outstanding, code),
                "due_date": due.isoformat(),
                "status": status,
                "bill_payments": [public(p) for p in payments],
            }
        )
        if touched:
            bill["updated_at"] = utc_naive(self.clock.now())

    # --- bill payments ----------------------------------------------------------------------

    def create_payment(self, body: Mapping[str, Any]) -> Record:
        self.checks.required(BILL_PAYMENTS, body, "billid", "amount", "payment_type", "paid_date")
        bill = self.checks.reference(BILL_PAYMENTS, BILLS, "billid", body["billid"])
        self.refresh(bill)
        amount, code = self.checks.money(BILL_PAYMENTS, "amount", body["amount"])
        if body["payment_type"] not in PAYMENT_TYPES:
            raise self.checks.invalid(
                BILL_PAYMENTS, "payment_type", "Invalid payment_type.", body["payment_type"]
            )
        self.checks.day(BILL_PAYMENTS, "paid_date", body["paid_date"])
        if amount <= 0:
            raise self.checks.invalid(BILL_PAYMENTS, "amount", "Amount must be positive.", amount)
        outstanding = Decimal(bill["outstanding"]["amount"])
        if self.settings.refuse_overpayment and amount > outstanding:
            raise self.checks.invalid(
                BILL_PAYMENTS, "amount", "Payment exceeds the bill's outstanding amount.", amount
            )
        record: Record = {
            "id": self.state.next_id("bill_payments"),
            "billid": int(bill["id"]),
            "amount": money(amount, code),
            "payment_type": body["payment_type"],
            "paid_date": str(body["paid_date"]),
            "note": body.get("note", ""),
            "matched_with_expense": False,
            "vis_state": 0,
        }
        return record
