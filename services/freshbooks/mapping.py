"""Pure translations between our events and FreshBooks' records. No I/O, no clock.

What FreshBooks receives for each case of an ``EmployeeChanged``
(docs/flows/people-freshbooks.md has the reasons):

- **Hire** (``active``, nobody with the work email yet): :func:`hire` -- the invitation
  body (``person_create`` = ``invitation``), the deprecated staff create (``staff``), or
  nothing and a review (``none``: :data:`NO_CREATE_REVIEW`).
- **Change** (a staff record exists): :func:`staff_puts` -- the fields that differ, one PUT.
- **Termination**: :func:`staff_puts` -- field changes first, then ``{"vis_state": 1}`` in a
  PUT of its own; never a hard delete. Only a pending invitation: nothing can be sent
  (:data:`PENDING_INVITATION_REVIEW`). Inactive archives (2), active again restores (0),
  each alone too.

- An employee becomes a FreshBooks person matched by work email (the natural key): a
  team-member invitation when hired, the accounting staff record (``fname``, ``lname``,
  ``email``) once it exists. FreshBooks has no writable field for a department or a job
  title on either (team members are read-only through the API; staff have no such field).
- The department travels on expenses, which have no tag field (sheet 7.2): it is a marker
  in the expense's ``notes``, written from a template (a setting) so it can be read back,
  replaced when the department changes and left alone when it is already right.

What FreshBooks receives for a ``BillPaid`` (flow ap-bill, a BILL payment written back):

- **Cleared**: :func:`bill_payment_body` -- one bill payment against the original bill
  (``billid``: the bill the payment's ``origin_bill_id`` names) for exactly the share's
  amount, dated the day it cleared, its type from the method (ACH -> ``ACH``, check ->
  ``Check``, card and virtual card -> ``Credit Card``, bank transfer -> ``Bank Transfer``,
  else ``Other``). FreshBooks has no idempotency key (section 7.6): the ``note`` carries
  :func:`payment_marker` (the BILL payment and its share), by which a replay finds it.
- **Voided** after that: the bill payment is soft-deleted (``vis_state`` 1), so the bill
  owes that amount again; never a hard delete.

What FreshBooks receives for an ``ExpenseReportApproved`` (flow expenses), once every
reference is resolved (``report_references.py``; docs/flows/expenses.md):

- **Reimbursable expenses** (the employee paid and is owed): :func:`report_bill_body` -- one
  bill to the employee's bill vendor, numbered :func:`report_bill_number` (the report id:
  how it is found again), issued the day of approval, one line per expense on its expense
  category, for its amount in the report's currency; each line's description carries the
  merchant, the day, the comment, the carried tag and :func:`report_marker`.
- **Everything else** (corporate-card spend, other company-paid spend):
  :func:`report_expense_body` -- one expense per line, on its category, for the staff member
  with the employee's email (else the link's ``expense_staff_id``), its ``vendor`` the
  merchant, its ``notes`` the comment, the carried tag and :func:`report_marker` (expenses
  have no other idempotency key, section 7.2).
- **A new bill vendor**, when the link allows it: :func:`report_vendor_body` -- the
  employee's name (:func:`employee_name`: else read from a ``first.last`` email, else the
  email) and email, in the report's currency.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

from schemas.ap import BillPaid
from schemas.expense import ExpenseLine, ExpenseReportApproved
from schemas.people import EmployeeChanged
from services.freshbooks.models import Staff, TeamMember

__all__ = [
    "NO_CREATE_REVIEW",
    "PENDING_INVITATION_REVIEW",
    "VISIBILITY",
    "CallbackEvent",
    "HireRequest",
    "MappingError",
    "StaffPut",
    "bill_payment_body",
    "callback_event",
    "department_marker",
    "employee_name",
    "hire",
    "invitation_body",
    "line_amount",
    "payment_marker",
    "person_email",
    "report_bill_body",
    "report_bill_number",
    "report_expense_body",
    "report_marker",
    "report_vendor_body",
    "staff_changes",
    "staff_fields",
    "staff_puts",
    "with_department",
]

PersonCreate = Literal["invitation", "staff", "none"]

VISIBILITY: Final = {"active": 0, "terminated": 1, "inactive": 2}
"""A staff record's ``vis_state`` per status: 0 active, 1 deleted, 2 archived (section 6)."""
_VISIBILITY_OPERATION: Final = {0: "restore_staff", 1: "soft_delete_staff", 2: "archive_staff"}

PENDING_INVITATION_REVIEW: Final = (
    "a pending invitation has no staff record to soft-delete and FreshBooks' API "
    "cannot revoke it: revoke the invitation in FreshBooks"
)
NO_CREATE_REVIEW: Final = "no FreshBooks person has this email and person_create is 'none'"

_PLACEHOLDER = "{department}"


class MappingError(ValueError):
    """The event lacks what FreshBooks needs; a person has to look (``needs_review``)."""


def person_email(event: EmployeeChanged) -> str:
    """The natural key: the work email, lower-cased; none means nobody to match or invite."""
    email = (event.work_email or "").strip().lower()
    if "@" not in email:
        msg = f"employee {event.employee_id} has no work email to match or invite in FreshBooks"
        raise MappingError(msg)
    return email


def staff_fields(event: EmployeeChanged) -> dict[str, str]:
    """The staff fields we own: the name a person goes by, and the work email."""
    return {
        "fname": event.preferred_name or event.first_name,
        "lname": event.last_name,
        "email": person_email(event),
    }


def staff_changes(current: Staff, wanted: Mapping[str, str]) -> dict[str, str]:
    """Only the fields that differ (emails compared case-insensitively)."""
    have = {"fname": current.fname or "", "lname": current.lname or "", "email": current.email}
    changes: dict[str, str] = {}
    for name, value in wanted.items():
        old = have.get(name) or ""
        same = old.lower() == value.lower() if name == "email" else old == value
        if not same:
            changes[name] = value
    return changes


def invitation_body(event: EmployeeChanged, *, business_id: str, capacity: str) -> dict[str, Any]:
    """The invitation (Postman collection shape [inferred]); names are extra, harmless keys."""
    return {
        "capacity": capacity,
        "to_email": person_email(event),
        "invitable_id": int(business_id) if business_id.isdigit() else business_id,
        "invitable_type": "business",
        "first_name": event.preferred_name or event.first_name,
        "last_name": event.last_name,
    }


def invited_member(uuid: str, invitation: Mapping[str, Any]) -> TeamMember:
    """The team member an invitation we sent made: pending (no identity yet), active."""
    return TeamMember(
        uuid=uuid,
        email=str(invitation.get("to_email") or "") or None,
        first_name=invitation.get("first_name"),
        last_name=invitation.get("last_name"),
    )


@dataclass(frozen=True, slots=True)
class HireRequest:
    """How a person who is not in FreshBooks yet comes to exist: one call, its body."""

    operation: Literal["invite_team_member", "create_staff"]
    body: Mapping[str, Any]
    """The invitation as sent, or the staff fields (sent as ``{"staff": body}``)."""


def hire(
    event: EmployeeChanged, *, person_create: PersonCreate, business_id: str, capacity: str
) -> HireRequest | None:
    """What is sent when nobody in FreshBooks has the work email; None: not ours to create."""
    if person_create == "staff":
        # Deprecated docs only: a staff record made through the API cannot log in.
        return HireRequest("create_staff", staff_fields(event))
    if person_create == "invitation":
        return HireRequest(
            "invite_team_member",
            invitation_body(event, business_id=business_id, capacity=capacity),
        )
    return None


@dataclass(frozen=True, slots=True)
class StaffPut:
    """One PUT of an accounting staff record, sent as ``{"staff": fields}``."""

    operation: str
    fields: Mapping[str, str | int]


def staff_puts(current: Staff, event: EmployeeChanged) -> list[StaffPut]:
    """What an existing staff record receives for a change, a termination or a restore, in order.

    A PUT carrying ``vis_state`` makes FreshBooks ignore every other field (section 6), so
    visibility always travels alone: field updates first, then the visibility change; a
    deleted record takes no fields, so a restored one gets them after it is restored.
    Never a hard delete.
    """
    changes = staff_changes(current, staff_fields(event))
    wanted = VISIBILITY[event.status]
    puts: list[StaffPut] = []
    if changes and current.vis_state != 1:
        puts.append(StaffPut("update_staff", changes))
    if current.vis_state != wanted:
        puts.append(StaffPut(_VISIBILITY_OPERATION[wanted], {"vis_state": wanted}))
    if changes and current.vis_state == 1 and wanted != 1:
        puts.append(StaffPut("update_staff", changes))
    return puts


def _marker_pattern(template: str) -> re.Pattern[str]:
    if _PLACEHOLDER not in template:
        msg = f"the department note template must contain {_PLACEHOLDER}: {template!r}"
        raise ValueError(msg)
    before, _, after = template.partition(_PLACEHOLDER)
    return re.compile(
        r"[ \t]*" + re.escape(before) + r"(?P<department>.*?)" + re.escape(after) + r"[ \t]*\n?"
    )


def department_marker(department: str, template: str) -> str:
    """The marker for ``department``, e.g. ``[Department: Engineering]``."""
    _marker_pattern(template)
    return template.replace(_PLACEHOLDER, department.strip())


def with_department(notes: str | None, department: str | None, template: str) -> str:
    """``notes`` carrying exactly one marker for ``department`` (none when it is None).

    The person's own text is kept; a marker of another department is replaced, so the
    result equals ``notes`` when the right department is already there.
    """
    text = notes or ""
    pattern = _marker_pattern(template)
    markers = [m.group("department") for m in pattern.finditer(text)]
    if department is not None and markers == [department.strip()]:
        return text
    own = pattern.sub("", text).rstrip()
    if department is None:
        return own
    marker = department_marker(department, template)
    return f"{own}\n{marker}" if own else marker


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """A FreshBooks webhook delivery: the event name and the changed object's id."""

    name: str
    object_id: str
    account_id: str


def callback_event(body: str) -> CallbackEvent | None:
    """The form-encoded callback (sheet 8), or None when it is not an event delivery."""
    fields = dict(parse_qsl(body, keep_blank_values=True))
    name = fields.get("name", "")
    object_id = fields.get("object_id", "")
    if "verifier" in fields or "." not in name or not object_id:
        return None
    return CallbackEvent(name=name, object_id=object_id, account_id=fields.get("account_id", ""))


# --- bill payments (flow ap-bill) ---------------------------------------------------------

_PAYMENT_TYPES: Final = {
    "ach": "ACH",
    "check": "Check",
    "card": "Credit Card",
    "virtual_card": "Credit Card",
    "bank_transfer": "Bank Transfer",
    "cash": "Cash",
}


def payment_marker(event: BillPaid) -> str:
    """What a bill payment's ``note`` carries so a replay finds it (no idempotency key)."""
    return f"[BILL payment {event.payment_id} / {event.allocation_id}]"


def bill_payment_body(event: BillPaid, bill_id: int) -> dict[str, Any]:
    """The bill payment that records ``event``'s share against FreshBooks bill ``bill_id``."""
    reference = f" {event.reference}" if event.reference else ""
    return {
        "billid": bill_id,
        "amount": {"amount": f"{event.amount:.2f}", "code": event.currency},
        "payment_type": _PAYMENT_TYPES.get(event.method, "Other"),
        "paid_date": (event.cleared_on or event.paid_on).isoformat(),
        "note": f"{payment_marker(event)}{reference}",
    }


# --- expense reports (flow expenses) ------------------------------------------------------


def report_bill_number(event: ExpenseReportApproved) -> str:
    """The bill's number: the report's id, by which a replay finds the bill."""
    return f"EXP-{event.report_id}"


def report_marker(report_id: str, expense_id: str) -> str:
    """What a bill line's description and an expense's notes carry to be found again."""
    return f"[Expensify {report_id}/{expense_id}]"


def line_amount(line: ExpenseLine) -> Decimal:
    """The expense in the report's currency: converted where it was spent in another."""
    return line.converted_amount if line.converted_amount is not None else line.amount


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "code": currency}


def _described(event: ExpenseReportApproved, line: ExpenseLine, tag: str) -> str:
    """``"Uber 2026-11-04: comment; cost centre Strategy [Expensify 41000103/67203...]"``."""
    text = f"{line.merchant} {line.spent_on.isoformat()}"
    if line.comment:
        text += f": {line.comment}"
    if tag:
        text += f"; cost centre {tag}"
    return f"{text} {report_marker(event.report_id, line.expense_id)}"


def report_bill_body(
    event: ExpenseReportApproved,
    lines: Sequence[ExpenseLine],
    *,
    vendor_id: int,
    categories: Mapping[str, int],
    tags: Mapping[str, str],
    due_days: int,
) -> dict[str, Any]:
    """The bill for ``lines`` (the report's reimbursable ones) to bill vendor ``vendor_id``."""
    return {
        "vendorid": vendor_id,
        "bill_number": report_bill_number(event),
        "issue_date": event.approved_at.date().isoformat(),
        "due_offset_days": due_days,
        "currency_code": event.currency,
        "language": "en",
        "overall_description": f"Expensify report {event.report_id}: {event.report_name or ''}",
        "lines": [
            {
                "categoryid": categories[line.expense_id],
                "description": _described(event, line, tags.get(line.expense_id, "")),
                "quantity": 1,
                "unit_cost": _money(line_amount(line), event.currency),
            }
            for line in lines
        ],
    }


def report_expense_body(
    event: ExpenseReportApproved, line: ExpenseLine, *, category_id: int, staff_id: int, tag: str
) -> dict[str, Any]:
    """The expense for one company-paid line of the report."""
    return {
        "amount": _money(line_amount(line), event.currency),
        "categoryid": category_id,
        "staffid": staff_id,
        "date": line.spent_on.isoformat(),
        "vendor": line.merchant,
        "notes": _described(event, line, tag),
    }


def employee_name(event: ExpenseReportApproved) -> str:
    """The employee's name, else one read from their email's ``first.last`` [inferred:
    Expensify's export names the submitter by email only]."""
    if event.employee_name:
        return event.employee_name
    local = event.employee_email.split("@", 1)[0]
    words = [w for w in re.split(r"[._-]+", local) if w.isalpha()]
    return " ".join(w.capitalize() for w in words) if len(words) > 1 else event.employee_email


def report_vendor_body(event: ExpenseReportApproved) -> dict[str, Any]:
    """A bill vendor for the employee, when the link allows creating one."""
    return {
        "vendor_name": employee_name(event),
        "primary_contact_email": event.employee_email,
        "currency_code": event.currency,
        "language": "en",
    }
