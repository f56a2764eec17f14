"""The accounting resources the sandbox serves: paths, JSON keys and quirks (sheet section 7)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ACCOUNTING",
    "COLLECTIONS",
    "EVENT_NOUNS",
    "PAYMENT_TYPES",
    "Resource",
    "by_path",
    "public",
]


@dataclass(frozen=True)
class Resource:
    collection: str
    path: str  # under /accounting/account/{account_id}/
    single: str  # body and result key of one record
    plural: str  # result key of a list
    scope: str  # `user:<scope>:read|write`
    legacy_id: str | None = None  # the duplicate id field (`expenseid`, `vendorid`, ...)
    event_noun: str | None = None  # webhook noun fired on create/update/delete
    can_create: bool = True
    can_update: bool = True
    aliases: Mapping[str, Sequence[str]] = field(default_factory=dict)
    includes: tuple[str, ...] = ()
    like_filters: tuple[str, ...] = ()  # `search[x]=v` that is a contains-match, not equals


EXPENSES = Resource(
    collection="expenses",
    path="expenses/expenses",
    single="expense",
    plural="expenses",
    scope="expenses",
    legacy_id="expenseid",
    event_noun="expense",
    includes=("category", "attachment", "expense_profile", "project", "account"),
    aliases={"updated": ("updated",)},
)
CATEGORIES = Resource(
    collection="categories",
    path="expenses/categories",
    single="category",
    plural="categories",
    scope="expenses",
    legacy_id="categoryid",
    can_create=False,
    can_update=False,
    # `search[name]` is a like-match on the category name (DOC:expense_categories).
    aliases={"name": ("category",)},
    like_filters=("name",),
)
STAFF = Resource(
    collection="staff",
    path="users/staffs",
    single="staff",
    plural="staffs",
    scope="teams",
    legacy_id="userid",
    can_create=False,
    aliases={
        "user": ("fname", "lname", "username", "email"),
        "user_levels": ("role",),
        "userid": ("userid",),
    },
)
BILL_VENDORS = Resource(
    collection="bill_vendors",
    path="bill_vendors/bill_vendors",
    single="bill_vendor",
    plural="bill_vendors",
    scope="bill_vendors",
    legacy_id="vendorid",
    event_noun="bill_vendor",
)
BILLS = Resource(
    collection="bills",
    path="bills/bills",
    single="bill",
    plural="bills",
    scope="bills",
    event_noun="bill",
    includes=("vendor",),
    aliases={"status": ("status",)},
)
BILL_PAYMENTS = Resource(
    collection="bill_payments",
    path="bill_payments/bill_payments",
    single="bill_payment",
    plural="bill_payments",
    scope="bill_payments",
)

ACCOUNTING: tuple[Resource, ...] = (
    EXPENSES,
    CATEGORIES,
    STAFF,
    BILL_VENDORS,
    BILLS,
    BILL_PAYMENTS,
)

COLLECTIONS: tuple[str, ...] = (
    "identities",
    "businesses",
    "oauth_clients",
    *(resource.collection for resource in ACCOUNTING),
    "team_members",
    "ledger_accounts",
    "callbacks",
)

# [inferred — AE list derived from the docs page] nouns that take `<noun>.<verb>` callbacks.
EVENT_NOUNS = (
    "bill",
    "bill_vendor",
    "category",
    "client",
    "credit_note",
    "estimate",
    "expense",
    "invoice",
    "item",
    "payment",
    "project",
    "recurring",
    "service",
    "tax",
    "time_entry",
)

# [verified JS models/BillPayments.ts]
PAYMENT_TYPES = (
    "Check",
    "Credit",
    "Cash",
    "Bank Transfer",
    "Credit Card",
    "Debit",
    "PayPal",
    "2Checkout",
    "VISA",
    "MASTERCARD",
    "DISCOVER",
    "AMEX",
    "DINERS",
    "JCB",
    "ACH",
    "Other",
)


def by_path(path: str) -> Resource | None:
    return next((r for r in ACCOUNTING if r.path == path), None)


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without the sandbox's private `_` keys."""
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}
