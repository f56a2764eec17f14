"""BILL payments as the canonical ``BillPaid``: what flow ap-bill writes back to the books.

Facts: ``../shared/vendors/bill.md`` §9. A payment (``stp...``) pays one or more bills, one
``billPayments[]`` share (``blp...``) each. Each share of a bill that came from the link's
source becomes one ``BillPaid``:

=====================  ============================================================
``payment_id``         the payment's id; ``allocation_id`` the share's id
``bill``               BILL's bill (id, invoice number, vendor name) and where it came from
                       (the source connection and its bill id: the bill sink's
                       cross-reference)
``amount``             the share's amount; ``currency`` ``MLC_BILL_CURRENCY`` [inferred:
                       BILL payments carry no currency; a US organisation pays in USD]
``paid_on``            ``processDate``; ``cleared_on`` the day it was seen cleared
``method``             ``disbursementType``: ACH -> ach, CHECK -> check, VIRTUAL_CARD ->
                       virtual_card, anything else -> other
``reference``          the confirmation number, else the transaction number
``voided``             the payment's ``singleStatus`` is one of ``MLC_BILL_VOIDED_STATUSES``
=====================  ============================================================

Only a cleared payment (``singleStatus`` in ``MLC_BILL_CLEARED_STATUSES``) is written back,
and a voided one only after it was: scheduled money may still be cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from schemas.ap import BillPaid, BillRef, PaymentMethod

__all__ = ["Origin", "bill_paid", "payment_state"]

_METHODS: Final[dict[str, PaymentMethod]] = {
    "ACH": "ach",
    "CHECK": "check",
    "VIRTUAL_CARD": "virtual_card",
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a BILL bill came from: the link's source connection and its bill id there."""

    connection_id: str
    bill_id: str


def payment_state(
    payment: Mapping[str, Any], *, cleared: frozenset[str], voided: frozenset[str]
) -> str:
    """``cleared``, ``voided`` or ``pending`` (anything else: not ours to write yet)."""
    status = str(payment.get("singleStatus") or "")
    if status in voided:
        return "voided"
    if status in cleared:
        return "cleared"
    return "pending"


def _time(text: object, fallback: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bill_paid(
    payment: Mapping[str, Any],
    share: Mapping[str, Any],
    bill: Mapping[str, Any],
    origin: Origin,
    *,
    connection_id: str,
    currency: str,
    voided: bool,
    now: datetime,
) -> BillPaid:
    """One share of one payment, as the books will record it."""
    updated = _time(payment.get("updatedTime"), now)
    return BillPaid(
        connection_id=connection_id,
        occurred_at=now,
        source_updated_at=updated,
        payment_id=str(payment["id"]),
        allocation_id=str(share.get("id") or share["billId"]),
        bill=BillRef(
            bill_id=str(bill["id"]),
            bill_number=str((bill.get("invoice") or {}).get("invoiceNumber") or bill["id"]),
            vendor_name=str(bill.get("vendorName") or payment.get("vendorName") or "vendor"),
            origin_connection_id=origin.connection_id,
            origin_bill_id=origin.bill_id,
        ),
        amount=Decimal(str(share["amount"])),
        currency=currency,
        paid_on=date.fromisoformat(str(payment.get("processDate") or updated.date())),
        cleared_on=updated.date(),
        method=_METHODS.get(str(payment.get("disbursementType") or ""), "other"),
        reference=str(payment.get("confirmationNumber") or payment.get("transactionNumber") or "")
        or None,
        voided=voided,
    )
