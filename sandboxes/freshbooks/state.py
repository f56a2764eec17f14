"""The books of the sandbox's FreshBooks account: accounting records and their rules.

Records are kept as FreshBooks returns them (keys named as FreshBooks names them); keys
starting with `_` are the sandbox's own and never leave it. Every change goes through
`Books`, which validates like FreshBooks, stamps times on the sandbox clock, recomputes
bill totals and reports `(noun, verb, record)` to whoever fires webhooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sandboxes.freshbooks.checks import Checks
from sandboxes.freshbooks.errors import AccountingError, accounting_error
from sandboxes.freshbooks.payables import Payables
from sandboxes.freshbooks.query import ListQuery, Paged, paginate, select
from sandboxes.freshbooks.resources import (
    BILL_PAYMENTS,
    BILL_VENDORS,
    BILLS,
    CATEGORIES,
    EXPENSES,
    STAFF,
    Resource,
    public,
)
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.freshbooks.timefmt import eastern, money, utc_naive
from sandboxes.kit import Record, SandboxClock, State

__all__ = ["Books", "ChangeListener", "refuse"]

ChangeListener = Callable[[str, str, Record], None]
"""Told `(noun, verb, record)` after each create/update/delete (verb by vis_state)."""

# A PUT carrying one of these changes only the visibility; other keys are silently ignored.
VISIBILITY_KEYS = ("vis_state", "ext_vis_state")
READ_ONLY = {
    "expenses": ("id", "expenseid", "status", "updated", "accounting_systemid", "version"),
    "bills": (
        "id",
        "amount",
        "tax_amount",
        "total_amount",
        "paid",
        "outstanding",
        "due_date",
        "status",
        "bill_payments",
        "created_at",
        "updated_at",
    ),
    "bill_vendors": ("id", "vendorid", "created_at", "updated_at"),
    "bill_payments": ("id", "billid"),
    "staff": ("id", "userid", "updated", "signup_date"),
}


class Books:
    """The accounting data of the default account, with FreshBooks' validation and side effects."""

    def __init__(
        self,
        state: State,
        clock: SandboxClock,
        settings: FreshBooksSandboxSettings,
        on_change: ChangeListener,
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings
        self.on_change = on_change
        self.checks = Checks(state, settings)
        self.payables = Payables(state, clock, settings, self.checks)

    @property
    def account_id(self) -> str:
        return self.checks.account_id

    # --- reads ------------------------------------------------------------------------------

    def list_records(self, resource: Resource, query: ListQuery) -> Paged:
        if resource is BILLS:
            self.payables.refresh_all()
        ignored: tuple[str, ...] = ()
        if resource is BILLS and not self.settings.bills_honour_updated_filter:
            ignored = ("updated",)
        chosen = select(
            self.state.records(resource.collection),
            query,
            aliases=resource.aliases,
            ignored=ignored,
            like_filters=resource.like_filters,
        )
        page = paginate(chosen, query)
        items = [self.render(resource, r, query.includes) for r in page.items]
        return Paged(items, page.page, page.pages, page.per_page, page.total)

    def get(self, resource: Resource, record_id: str, includes: tuple[str, ...] = ()) -> Record:
        record = self.checks.existing(resource, record_id)
        if resource is BILLS:
            self.payables.refresh(record)
        return self.render(resource, record, includes)

    def render(self, resource: Resource, record: Record, includes: tuple[str, ...] = ()) -> Record:
        out = public(record)
        if resource is EXPENSES and "category" in includes:
            category = self.state.get("categories", record.get("categoryid"))
            out["category"] = public(category) if category else None
        if resource is BILLS and "vendor" in includes:
            vendor = self.state.get("bill_vendors", record.get("vendorid"))
            out["vendor"] = public(vendor) if vendor else None
        return out

    # --- writes -----------------------------------------------------------------------------

    def create(self, resource: Resource, body: Mapping[str, Any]) -> Record:
        creators: dict[str, Callable[[Mapping[str, Any]], Record]] = {
            "expenses": self._create_expense,
            "bills": self.payables.create_bill,
            "bill_vendors": self.payables.create_vendor,
            "bill_payments": self.payables.create_payment,
            "staff": self._create_staff,
        }
        record = creators[resource.collection](body)
        self.state.insert(resource.collection, record)
        self._after_write(resource, record, "create")
        if resource is BILL_PAYMENTS:
            self.after_payment(record)
        return record

    def update(self, resource: Resource, record_id: str, body: Mapping[str, Any]) -> Record:
        record = self.checks.existing(resource, record_id)
        if any(key in body for key in VISIBILITY_KEYS):
            # DOC:active_deleted: with vis_state in the PUT every other field is ignored.
            state = body.get("vis_state", body.get("ext_vis_state"))
            if state not in (0, 1, 2, "0", "1", "2"):
                raise self.checks.invalid(resource, "vis_state", "Invalid vis_state.", state)
            record["vis_state"] = int(str(state))
            self._stamp(resource, record)
            verb = "delete" if record["vis_state"] == 1 else "update"
            self._after_write(resource, record, verb)
            if resource is BILL_PAYMENTS:
                self.after_payment(record)
            return record
        read_only = READ_ONLY.get(resource.collection, ())
        changes = {k: v for k, v in body.items() if k not in read_only}
        if resource is EXPENSES:
            self._check_expense(changes, partial=True)
        if resource is BILLS and "lines" in changes:
            changes["lines"] = self.payables.lines(changes["lines"], str(record["currency_code"]))
        if resource is BILLS and "vendorid" in changes:
            self.checks.reference(resource, BILL_VENDORS, "vendorid", changes["vendorid"])
        if resource in (EXPENSES, BILL_PAYMENTS) and "amount" in changes:
            amount, code = self.checks.money(resource, "amount", changes["amount"])
            changes["amount"] = money(amount, code)
        for name in ("categoryid", "staffid", "vendorid", "clientid", "projectid"):
            # Ids may be sent as strings; FreshBooks returns them as ints (DOC examples).
            if str(changes.get(name, "")).isdigit():
                changes[name] = int(changes[name])
        record.update(changes)
        if resource is BILLS:
            self.payables.refresh(record)
        self._stamp(resource, record)
        self._after_write(resource, record, "update")
        if resource is BILL_PAYMENTS:
            self.after_payment(record)
        return record

    def _after_write(self, resource: Resource, record: Record, verb: str) -> None:
        if resource.event_noun is not None:
            self.on_change(resource.event_noun, verb, record)
        elif resource is BILL_PAYMENTS and self.settings.bill_payment_events:
            self.on_change("bill_payment", verb, record)

    def _stamp(self, resource: Resource, record: Record) -> None:
        now = self.clock.now()
        if resource in (BILLS, BILL_VENDORS):
            record["updated_at"] = utc_naive(now)
        elif resource is CATEGORIES:
            record["updated_at"] = eastern(now)
        elif resource is not BILL_PAYMENTS:
            record["updated"] = eastern(now)
        if resource is EXPENSES:
            record["version"] = eastern(now) + now.strftime(".%f")

    # --- expenses ---------------------------------------------------------------------------

    def _check_expense(self, body: Mapping[str, Any], *, partial: bool) -> None:
        if not partial:
            self.checks.required(EXPENSES, body, "amount", "categoryid", "staffid", "date")
        if "categoryid" in body:
            self.checks.reference(EXPENSES, CATEGORIES, "categoryid", body["categoryid"])
        if "staffid" in body:
            self.checks.reference(EXPENSES, STAFF, "staffid", body["staffid"])
        if "date" in body:
            self.checks.day(EXPENSES, "date", body["date"])

    def _create_expense(self, body: Mapping[str, Any]) -> Record:
        self._check_expense(body, partial=False)
        amount, code = self.checks.money(EXPENSES, "amount", body["amount"])
        expense_id = self.state.next_id("expenses")
        record: Record = {
            "id": expense_id,
            "expenseid": expense_id,
            "accounting_systemid": self.account_id,
            "amount": money(amount, code),
            "categoryid": int(body["categoryid"]),
            "staffid": int(body["staffid"]),
            "clientid": int(body.get("clientid") or 0),
            "projectid": int(body.get("projectid") or 0),
            "date": str(body["date"]),
            "vendor": body.get("vendor"),
            "notes": body.get("notes", ""),
            "status": 0,
            "vis_state": 0,
            "has_receipt": False,
            "billable": bool(body.get("billable", False)),
            "markup_percent": str(body.get("markup_percent", "0")),
            "invoiceid": None,
            "transactionid": None,
            "accountid": None,
            "account_name": "",
            "bank_name": "",
            "isduplicate": False,
            "compounded_tax": bool(body.get("compounded_tax", False)),
            "ext_systemid": 0,
            "profileid": None,
            "include_receipt": False,
            "is_cogs": False,
            "bill_matches": [],
            "background_jobid": None,
            "converse_projectid": None,
            "modern_projectid": None,
            "ext_accountid": None,
            "ext_invoiceid": 0,
            "from_bulk_import": False,
            "potential_bill_payment": False,
        }
        for n in ("1", "2"):
            name, percent = body.get(f"taxName{n}"), body.get(f"taxPercent{n}")
            record[f"taxName{n}"] = name
            record[f"taxPercent{n}"] = percent
            tax = None
            if percent not in (None, ""):
                rate = Decimal(str(percent))
                # The expense amount includes its taxes (older DOC:expenses).
                tax = money(amount - amount / (1 + rate / 100), code)
            record[f"taxAmount{n}"] = tax
        self._stamp(EXPENSES, record)
        return record

    # --- staff ------------------------------------------------------------------------------

    def _create_staff(self, body: Mapping[str, Any]) -> Record:
        self.checks.required(STAFF, body, "email")
        return self.new_staff(
            first_name=str(body.get("fname", "")),
            last_name=str(body.get("lname", "")),
            email=str(body["email"]),
            organization=str(body.get("organization", "")),
        )

    def new_staff(
        self, *, first_name: str, last_name: str, email: str, organization: str
    ) -> Record:
        """A staff record as the accounting side creates it (not inserted)."""
        staff_id = self.state.next_id("staff")
        now = self.clock.now()
        record: Record = {
            "id": staff_id,
            "userid": staff_id,
            "fname": first_name,
            "lname": last_name,
            "email": email,
            "display_name": f"{first_name} {last_name}".strip(),
            "username": email.split("@", 1)[0],
            "organization": organization,
            "level": 1,
            "role": "staff",
            "rate": None,
            "vis_state": 0,
            "signup_date": eastern(now),
            "updated": eastern(now),
        }
        return record

    def after_payment(self, payment: Record) -> None:
        """Paying a bill changes its paid/outstanding/status and fires `bill.update`."""
        bill = self.state.get("bills", payment["billid"])
        if bill is not None:
            self.payables.refresh(bill, touched=True)
            self._after_write(BILLS, bill, "update")


def refuse(resource: Resource, verb: str) -> AccountingError:
    """What FreshBooks answers for a verb a resource does not have [inferred shape]."""
    return accounting_error(
        405, 1003, f"{verb} is not supported for {resource.plural}.", object=resource.single
    )
