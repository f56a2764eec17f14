"""One realistic, valid instance of every event type, for the schema tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from schemas import (
    AccountRef,
    BillChanged,
    BillLine,
    BillPaid,
    BillRef,
    DeadLetter,
    DepartmentChanged,
    EmployeeChanged,
    Event,
    ExpenseLine,
    ExpenseReportApproved,
    JobTitleChanged,
    PollTick,
    PostalAddress,
    RawDelivery,
    ReconcileTick,
    SyncOutcome,
    VendorChanged,
    VendorRef,
)

OCCURRED = datetime(2026, 2, 2, 9, 15, tzinfo=UTC)
SOURCE_UPDATED = datetime(2026, 2, 2, 9, 14, 59, tzinfo=UTC)
ENVELOPE = {"connection_id": "conn-42", "tenant_id": "acme", "occurred_at": OCCURRED}
SNAPSHOT = {**ENVELOPE, "source_updated_at": SOURCE_UPDATED}


def _employee() -> EmployeeChanged:
    return EmployeeChanged(
        **SNAPSHOT,
        employee_id="123",
        status="active",
        first_name="Ava",
        last_name="Nguyen",
        preferred_name="Avi",
        work_email="ava@acme.example",
        department="Engineering",
        division="Product",
        job_title="Engineering Manager",
        location="Remote",
        employment_status="Full-Time",
        hire_date=date(2021, 3, 15),
        supervisor_id="7",
        changed_fields=("department", "job_title"),
    )


def _bill() -> BillChanged:
    return BillChanged(
        **SNAPSHOT,
        bill_id="1626",
        bill_number="INV-88",
        vendor=VendorRef(vendor_id="5", name="Acme Parts"),
        issue_date=date(2026, 3, 1),
        due_date=date(2026, 3, 31),
        currency="USD",
        subtotal=Decimal("250.10"),
        tax_total=Decimal("32.51"),
        total=Decimal("282.61"),
        amount_due=Decimal("282.61"),
        status="open",
        lines=(
            BillLine(
                line_id="1",
                description="Chairs",
                quantity=Decimal("2"),
                unit_price=Decimal("125.05"),
                amount=Decimal("250.10"),
                account=AccountRef(account_id="65773", name="Office furniture", code="6100"),
            ),
        ),
    )


EXAMPLES: dict[str, Callable[[], Event]] = {
    "EmployeeChanged": _employee,
    "DepartmentChanged": lambda: DepartmentChanged(
        **SNAPSHOT, kind="division", unit_id="18", name="Product", active=True
    ),
    "JobTitleChanged": lambda: JobTitleChanged(
        **SNAPSHOT,
        job_title_id="41",
        name="Staff Engineer",
        previous_name="Senior Engineer",
        active=True,
    ),
    "VendorChanged": lambda: VendorChanged(
        **SNAPSHOT,
        vendor_id="5",
        name="Acme Parts",
        email="ap@acme.example",
        address=PostalAddress(line1="1 Main St", city="San Jose", region="CA", country="US"),
        tax_id="12-3456789",
        currency="USD",
        active=True,
    ),
    "BillChanged": _bill,
    "BillPaid": lambda: BillPaid(
        **SNAPSHOT,
        payment_id="stp01AAA",
        allocation_id="blp01BBB",
        bill=BillRef(
            bill_id="00n01CCC",
            bill_number="INV-88",
            vendor_name="Acme Parts",
            origin_connection_id="conn-fb",
            origin_bill_id="1626",
        ),
        amount=Decimal("282.61"),
        currency="USD",
        paid_on=date(2026, 3, 20),
        cleared_on=date(2026, 3, 22),
        method="ach",
        reference="P260320-1",
    ),
    "ExpenseReportApproved": lambda: ExpenseReportApproved(
        **SNAPSHOT,
        report_id="3397451",
        report_name="March travel",
        employee_email="ava@acme.example",
        employee_name="Ava Nguyen",
        policy_id="0810E551A5F2A9C2",
        currency="USD",
        total=Decimal("84.20"),
        approved_at=OCCURRED,
        expenses=(
            ExpenseLine(
                expense_id="6720309558248016",
                merchant="Air Canada",
                spent_on=date(2026, 3, 2),
                amount=Decimal("84.20"),
                currency="USD",
                category="Travel",
                category_code="6400",
                tags=("Dept:Engineering",),
                comment="Client visit",
                receipt_url="https://receipts.example/abc.jpg",
                reimbursable=True,
            ),
        ),
    ),
    "RawDelivery": lambda: RawDelivery(
        **ENVELOPE,
        entity_key="delivery-1",
        vendor="bamboohr",
        delivery_id="d-1",
        content_type="application/json",
        headers={"user-agent": "test"},
        body='{"type":"employee.updated"}',
    ),
    "PollTick": lambda: PollTick(
        **ENVELOPE,
        entity_key="poll",
        vendor="expensify",
        schedule="reports",
        due_at="2026-02-02T09:15:00Z",
    ),
    "ReconcileTick": lambda: ReconcileTick(
        **ENVELOPE,
        entity_key="reconcile",
        vendor="zoho",
        schedule="nightly",
        due_at="2026-02-02T02:00:00Z",
    ),
    "SyncOutcome": lambda: SyncOutcome(
        **ENVELOPE,
        entity_key="123",
        service="freshbooks",
        status="applied",
        operation="create_staff",
        target_ids={"staff": "9"},
    ),
    "DeadLetter": lambda: DeadLetter(
        **ENVELOPE,
        entity_key="123",
        service="freshbooks",
        original_topic="people.employee",
        original_partition=2,
        original_offset=17,
        original="{}",
        attempts=5,
        error_type="TargetUnavailable",
        error="503 from target",
    ),
}


@pytest.fixture
def example() -> Callable[[str], Event]:
    """Build the example event of a type name."""
    return lambda type_name: EXAMPLES[type_name]()
