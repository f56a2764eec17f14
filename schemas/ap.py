"""Accounts-payable events: bill vendors, bills and the payments that settle them.

The accounting source publishes vendors and bills (``ap.vendor``, ``ap.bill``);
the bill-pay service writes them and, when a payment clears, publishes
``BillPaid`` (``ap.payment``) for the accounting service to record. Sinks find
an existing bill by its natural key, ``bill_number`` plus vendor, before they
create one, so a replay or a crash between create and bookkeeping makes no
second bill.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field

from schemas.snapshot import Snapshot
from schemas.topics import topic
from schemas.upcasting import UPCASTERS
from schemas.values import AccountRef, CurrencyCode, Money, PostalAddress, Quantity, ValueModel

__all__ = [
    "BillChanged",
    "BillLine",
    "BillPaid",
    "BillRef",
    "BillStatus",
    "PaymentMethod",
    "VendorChanged",
    "VendorRef",
]

BillStatus = Literal["open", "partially_paid", "paid", "void"]
PaymentMethod = Literal["ach", "check", "card", "virtual_card", "bank_transfer", "cash", "other"]


class VendorChanged(Snapshot):
    """A bill vendor (supplier) was created or changed: the full record as it now stands.

    Sinks match vendors by name (and email where both sides have one) before
    they create one.
    """

    topic_name: ClassVar[str] = topic("ap.vendor").name
    entity_key_fields: ClassVar[tuple[str, ...]] = ("vendor_id",)

    type: Literal["VendorChanged"] = "VendorChanged"
    schema_version: int = 1

    vendor_id: str = Field(min_length=1, description="The vendor's id in the source.")
    name: str = Field(min_length=1, description="The vendor's business or person name.")
    email: str | None = Field(default=None, description="Where remittances and questions go.")
    phone: str | None = None
    contact_name: str | None = Field(default=None, description="The primary contact person.")
    address: PostalAddress | None = None
    tax_id: str | None = Field(
        default=None, description="Tax identification number, where the source keeps one."
    )
    account_number: str | None = Field(
        default=None, description="Our customer account number at this vendor."
    )
    currency: CurrencyCode | None = Field(
        default=None, description="The currency the vendor bills in, where the source says."
    )
    active: bool = Field(description="False when the vendor was archived or deleted in the source.")


class VendorRef(ValueModel):
    """The vendor a bill is from, by its id in the same source (see VendorChanged)."""

    vendor_id: str = Field(min_length=1)
    name: str = Field(min_length=1, description="The vendor's name when the bill was read.")


class BillLine(ValueModel):
    """One line of a bill."""

    line_id: str | None = Field(
        default=None, description="The line's id in the source, where lines have ids."
    )
    description: str = ""
    quantity: Quantity | None = None
    unit_price: Money | None = Field(default=None, description="Price per unit, before tax.")
    amount: Money = Field(description="The line's amount before tax (quantity x unit price).")
    account: AccountRef = Field(
        description="The expense category or ledger account the line is booked to in the source."
    )


class BillChanged(Snapshot):
    """A bill was created or changed: the full bill with its lines as it now stands.

    ``subtotal`` is the sum of the line amounts; ``total`` adds tax. Sinks map
    each line's ``account`` to a ledger account of the target through the
    link's mappings; an unmapped account makes the outcome ``needs_review``.
    """

    topic_name: ClassVar[str] = topic("ap.bill").name
    entity_key_fields: ClassVar[tuple[str, ...]] = ("bill_id",)

    type: Literal["BillChanged"] = "BillChanged"
    schema_version: int = 1

    bill_id: str = Field(min_length=1, description="The bill's id in the source.")
    bill_number: str = Field(
        min_length=1,
        description="The vendor's invoice number; with the vendor, the bill's natural key.",
    )
    vendor: VendorRef
    issue_date: date
    due_date: date | None = None
    currency: CurrencyCode
    subtotal: Money = Field(description="Sum of the line amounts, before tax.")
    tax_total: Money = Field(default=Decimal(0), description="Tax on the whole bill.")
    total: Money = Field(description="What is owed in all: subtotal plus tax.")
    amount_due: Money | None = Field(
        default=None, description="What is still unpaid, where the source tracks it."
    )
    status: BillStatus = Field(
        description=(
            "open: nothing paid yet; partially_paid; paid; "
            "void: deleted or voided in the source, so sinks void or archive their copy."
        )
    )
    memo: str | None = Field(default=None, description="A note or description on the whole bill.")
    lines: tuple[BillLine, ...] = Field(min_length=1)


class BillRef(ValueModel):
    """Which bill a payment settles, in every form a sink may look it up by."""

    bill_id: str = Field(
        min_length=1, description="The bill's id in the system that publishes the payment."
    )
    bill_number: str = Field(min_length=1, description="The vendor's invoice number.")
    vendor_name: str = Field(min_length=1)
    origin_connection_id: str | None = Field(
        default=None,
        description=(
            "When the bill was copied in from another connection (a BillChanged): "
            "that connection, so the sink finds its own bill without a search."
        ),
    )
    origin_bill_id: str | None = Field(
        default=None, description="The bill's id at origin_connection_id (BillChanged.bill_id)."
    )


class BillPaid(Snapshot):
    """A payment of one bill cleared: money left our account for the vendor.

    One event per (payment, bill): a payment that settles several bills is
    published once per bill, keyed by ``payment_id`` and ``allocation_id`` (its
    share of that bill), the natural key a sink records the payment under (e.g.
    in the payment's note), so a replay finds it instead of paying twice. A
    payment voided after it cleared is published again with ``voided``: sinks
    take their record of it back out.

    Version 2 added ``voided`` and made ``allocation_id`` part of the key
    (version 1 events read as not voided, allocated to their bill's id).
    """

    topic_name: ClassVar[str] = topic("ap.payment").name
    entity_key_fields: ClassVar[tuple[str, ...]] = ("payment_id", "allocation_id")

    type: Literal["BillPaid"] = "BillPaid"
    schema_version: int = 2

    payment_id: str = Field(min_length=1, description="The payment's id in the source.")
    allocation_id: str = Field(
        min_length=1,
        description=(
            "The source's id for this payment's share of this one bill; a source with none "
            "uses the bill's id."
        ),
    )
    bill: BillRef
    amount: Money = Field(description="The amount applied to this bill.")
    currency: CurrencyCode
    paid_on: date = Field(description="The day the payment was made (funds debited).")
    cleared_on: date | None = Field(
        default=None, description="The day the payment cleared, where the source reports it."
    )
    method: PaymentMethod
    reference: str | None = Field(
        default=None, description="Confirmation, check or transaction number from the source."
    )
    voided: bool = Field(
        default=False,
        description="True when the source voided the payment after it cleared.",
    )


@UPCASTERS.step("BillPaid", from_version=1)
def _bill_paid_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 knew no voided payments and keyed a payment by its id alone."""
    bill = data.get("bill")
    allocation = data.get("allocation_id") or (
        bill.get("bill_id") if isinstance(bill, dict) else None
    )
    upcast = {**data, "voided": False, "allocation_id": allocation}
    if "entity_key" in data:
        upcast["entity_key"] = f"{data.get('payment_id')}:{allocation}"
    return upcast
