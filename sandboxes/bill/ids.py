"""BILL ids: opaque 20-character strings whose 3-character prefix names the type (sheet 3)."""

from __future__ import annotations

import secrets
import string

__all__ = ["PREFIXES", "new_id"]

PREFIXES = {
    "organization": "008",
    "user": "006",
    "vendor": "009",
    "bill": "00n",
    "payment": "stp",
    "bill_payment": "blp",
    "chart_of_account": "0ca",
    "accounting_class": "cls",
    "department": "0de",
    "location": "loc",
    "bank_account": "bac",
    "bill_line_item": "0li",  # [I] not in the sheet
    "subscription_event": "evt",  # [I] event ids are UUIDs in the docs; prefixed here
}

_ALPHABET = string.ascii_letters + string.digits


def new_id(kind: str) -> str:
    """A fresh id such as `00901aB3...`: prefix, `01`, then 15 random characters."""
    return PREFIXES[kind] + "01" + "".join(secrets.choice(_ALPHABET) for _ in range(15))
