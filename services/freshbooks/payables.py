"""FreshBooks bills and bill vendors as the canonical ``BillChanged`` / ``VendorChanged``.

FreshBooks as a source of flow ap-bill (sections 7.4, 7.5 of the fact sheet):

- a **bill vendor** becomes a ``VendorChanged``: name, email, phone, the primary contact's
  name, the postal address, our account number at the vendor, the currency; active unless
  FreshBooks archived or deleted it (``vis_state`` 2 or 1). FreshBooks keeps no tax id.
- a **bill** becomes a ``BillChanged`` with its lines, each booked to its expense category
  (``AccountRef``: the category id and name; FreshBooks gives categories no GL number);
  subtotal, tax and total as FreshBooks computed them, and what is still outstanding.
  Status: ``paid`` -> ``paid``, ``partial`` -> ``partially_paid``, ``unpaid`` and
  ``overdue`` -> ``open``; a deleted bill (``vis_state`` 1) is ``void``, so the sink
  archives its copy. An archived bill (``vis_state`` 2) keeps its status: archiving is
  FreshBooks' housekeeping, not a cancellation [inferred].
- a bill without a number (FreshBooks allows it) is numbered ``FB-<bill id>``: BILL needs an
  invoice number, and this one is stable.

Times: bills' and vendors' ``updated_at`` are UTC (section 3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

from schemas.ap import BillChanged, BillLine, BillStatus, VendorChanged, VendorRef
from schemas.values import AccountRef, PostalAddress
from services.freshbooks.models import Bill, BillVendor

__all__ = ["DELETED", "bill_changed", "unnumbered", "vendor_changed"]

DELETED: Final = 1  # vis_state (section 6)
_STATUS: Final[dict[str, BillStatus]] = {
    "paid": "paid",
    "partial": "partially_paid",
    "unpaid": "open",
    "overdue": "open",
}


def _utc(text: str | None, fallback: datetime) -> datetime:
    if not text:
        return fallback
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: str | None) -> str | None:
    cleaned = (value or "").strip()
    return cleaned or None


def unnumbered(bill_id: int | str) -> str:
    """The number a bill without one gets."""
    return f"FB-{bill_id}"


def vendor_changed(vendor: BillVendor, *, connection_id: str, now: datetime) -> VendorChanged:
    contact = " ".join(
        part
        for part in (vendor.primary_contact_first_name, vendor.primary_contact_last_name)
        if part and part.strip()
    )
    parts = {
        "line1": _text(vendor.street),
        "line2": _text(vendor.street2),
        "city": _text(vendor.city),
        "region": _text(vendor.province),
        "postal_code": _text(vendor.postal_code),
        "country": _text(vendor.country),
    }
    return VendorChanged(
        connection_id=connection_id,
        occurred_at=now,
        source_updated_at=_utc(vendor.updated_at, now),
        vendor_id=str(vendor.vendorid),
        name=vendor.vendor_name.strip() or f"Vendor {vendor.vendorid}",
        email=_text(vendor.primary_contact_email),
        phone=_text(vendor.phone),
        contact_name=contact or None,
        address=PostalAddress(**parts) if any(parts.values()) else None,
        account_number=_text(vendor.account_number),
        currency=_text(vendor.currency_code),
        active=vendor.vis_state == 0,
    )


def bill_changed(bill: Bill, vendor_name: str, *, connection_id: str, now: datetime) -> BillChanged:
    lines = tuple(
        BillLine(
            description=(line.description or "").strip(),
            quantity=Decimal(line.quantity) if line.quantity else None,
            unit_price=Decimal(line.unit_cost.amount) if line.unit_cost else None,
            amount=Decimal(line.amount.amount),
            account=AccountRef(
                account_id=str(line.categoryid),
                name=_text(line.category.category if line.category else None),
            ),
        )
        for line in bill.lines
    )
    status: BillStatus = "void" if bill.vis_state == DELETED else _STATUS.get(bill.status, "open")
    return BillChanged(
        connection_id=connection_id,
        occurred_at=now,
        source_updated_at=_utc(bill.updated_at, now),
        bill_id=str(bill.id),
        bill_number=_text(bill.bill_number) or unnumbered(bill.id),
        vendor=VendorRef(vendor_id=str(bill.vendorid), name=vendor_name),
        issue_date=date.fromisoformat(bill.issue_date),
        due_date=date.fromisoformat(bill.due_date) if bill.due_date else None,
        currency=bill.currency_code,
        subtotal=Decimal(bill.amount.amount),
        tax_total=Decimal(bill.tax_amount.amount) if bill.tax_amount else Decimal(0),
        total=Decimal(bill.total_amount.amount),
        amount_due=Decimal(bill.outstanding.amount) if bill.outstanding else None,
        status=status,
        memo=_text(bill.overall_description),
        lines=lines,
    )
