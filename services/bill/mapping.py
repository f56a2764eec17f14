"""What BILL receives for a vendor and for a bill (flow ap-bill, FreshBooks -> BILL).

Facts: ``../shared/vendors/bill.md`` (sections cited as §).

**A vendor** (§7) is found before one is created, by its natural key: the **name**
(trimmed, any case), then the **email** when both sides have one. BILL has no tax-id
filter and no duplicate check of its own, so the tax id is not a key. What is sent:

==================  =======================================================
``name``            the vendor's name
``accountType``     ``BUSINESS`` [inferred: FreshBooks bill vendors are suppliers]
``email``           the vendor's email, when it has one
``phone``           its phone, when it has one
``address``         line1, line2, city, stateOrProvince, zipOrPostalCode, country
``billCurrency``    the vendor's currency, when the source says
==================  =======================================================

**A bill** (§8) is matched on its invoice number and vendor before any create. What is
sent (a ``PUT`` on update: the lines become exactly these):

============================  ===================================================
``vendorId``                  the vendor's BILL id (the vendor sink's cross-reference)
``invoice.invoiceNumber``     the bill number; ``invoice.invoiceDate`` its issue date
``dueDate``                   the due date, else the issue date
``description``               the memo
``billLineItems[]``           per line: ``amount``, ``description`` and
                              ``classifications.chartOfAccountId`` (below)
============================  ===================================================

Tax on the whole bill becomes one more line on the account the map names for ``tax``.

**GL accounts.** Each line's source account (``AccountRef``) becomes a BILL chart-of-accounts
entry, in this order:

1. the link option ``account_map``: ``{source account id, code or name: BILL account id,
   number or name}``; ``tax`` names the tax line's account;
2. the BILL account whose number is the source account's code;
3. the BILL account whose name is the source account's name (trimmed, any case).

Archived BILL accounts are never chosen. A line left without one makes the whole bill wait
for a person (``needs_review``), with a note naming the account and the option to set:
nothing is written in part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from schemas.ap import BillChanged, BillLine, VendorChanged
from schemas.values import AccountRef

__all__ = [
    "ACCOUNT_MAP",
    "TAX_KEY",
    "AccountChoice",
    "MappingError",
    "bill_body",
    "bill_number_of",
    "name_key",
    "same_vendor",
    "unmapped_note",
    "vendor_body",
]

ACCOUNT_MAP: Final = "account_map"
"""Link option: ``{source account id, code or name: BILL account id, number or name}``."""
TAX_KEY: Final = "tax"
"""The ``account_map`` key that names the BILL account of a bill's tax."""


class MappingError(ValueError):
    """The link's options cannot be read; the message says which and how."""


def name_key(text: str | None) -> str:
    """What makes two names the same: trimmed, case folded."""
    return (text or "").strip().casefold()


def _money(amount: Decimal) -> float:
    # BILL takes JSON numbers (§8); amounts are cents-exact in the source.
    return float(round(amount, 2))


# --- vendors ----------------------------------------------------------------------------


def vendor_body(event: VendorChanged) -> dict[str, Any]:
    """What BILL's vendor create (and update) receives."""
    body: dict[str, Any] = {"name": event.name.strip(), "accountType": "BUSINESS"}
    if event.email:
        body["email"] = event.email.strip().lower()
    if event.phone:
        body["phone"] = event.phone.strip()
    if event.currency:
        body["billCurrency"] = event.currency
    if event.address is not None:
        parts = {
            "line1": event.address.line1,
            "line2": event.address.line2,
            "city": event.address.city,
            "stateOrProvince": event.address.region,
            "zipOrPostalCode": event.address.postal_code,
            "country": event.address.country,
        }
        address = {k: v.strip() for k, v in parts.items() if v and v.strip()}
        if address:
            body["address"] = address
    return body


def same_vendor(row: Mapping[str, Any], event: VendorChanged) -> bool:
    """Whether BILL's vendor ``row`` is ``event``'s supplier (the natural key above)."""
    if name_key(str(row.get("name") or "")) == name_key(event.name):
        return True
    email = name_key(event.email)
    return bool(email) and name_key(str(row.get("email") or "")) == email


# --- GL accounts ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountChoice:
    """BILL's chart of accounts and the link's map: which BILL account a source account is."""

    chart: Sequence[Mapping[str, Any]]
    account_map: Mapping[str, str]

    @classmethod
    def of(cls, chart: Iterable[Mapping[str, Any]], options: Mapping[str, Any]) -> AccountChoice:
        raw = options.get(ACCOUNT_MAP) or {}
        if not isinstance(raw, Mapping):
            msg = f"link option {ACCOUNT_MAP} must be an object of source account -> BILL account"
            raise MappingError(msg)
        usable = [row for row in chart if not row.get("archived")]
        return cls(usable, {name_key(str(k)): str(v) for k, v in raw.items()})

    def _named(self, wanted: str) -> str | None:
        """The BILL account an operator's value names: its id, number or name."""
        for row in self.chart:
            number = str((row.get("account") or {}).get("number") or "")
            if wanted in (str(row.get("id")), number) or name_key(str(row.get("name"))) == name_key(
                wanted
            ):
                return str(row["id"])
        return None

    def account_of(self, account: AccountRef) -> str | None:
        for key in (account.account_id, account.code, account.name):
            if key and name_key(key) in self.account_map:
                return self._named(self.account_map[name_key(key)])
        for row in self.chart:
            number = str((row.get("account") or {}).get("number") or "")
            if account.code and number == account.code.strip():
                return str(row["id"])
        for row in self.chart:
            if account.name and name_key(str(row.get("name"))) == name_key(account.name):
                return str(row["id"])
        return None

    def tax_account(self) -> str | None:
        chosen = self.account_map.get(TAX_KEY)
        return self._named(chosen) if chosen else None


def unmapped_note(missing: Sequence[AccountRef], *, tax: bool) -> str:
    """What a person reads in the review queue: which accounts, and how to map them."""
    parts = [
        f"{a.name or a.account_id!r} (id {a.account_id}{f', code {a.code}' if a.code else ''})"
        for a in missing
    ]
    if tax:
        parts.append("the bill's tax")
    example = missing[0].account_id if missing else TAX_KEY
    return (
        f"no BILL GL account for {', '.join(parts)}: add it to link option {ACCOUNT_MAP} "
        f'(e.g. {{"{example}": "<BILL account number or name>"}}), then re-drive the bill'
    )


# --- bills ------------------------------------------------------------------------------


def bill_number_of(row: Mapping[str, Any]) -> str:
    return str((row.get("invoice") or {}).get("invoiceNumber") or "")


def _line(line: BillLine, account_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "amount": _money(line.amount),
        "classifications": {"chartOfAccountId": account_id},
    }
    if line.description:
        item["description"] = line.description
    return item


def bill_body(
    event: BillChanged, vendor_id: str, accounts: AccountChoice
) -> tuple[dict[str, Any], list[AccountRef], bool]:
    """``(body, accounts with no BILL account, tax unmapped)``; write only when both are empty."""
    items: list[dict[str, Any]] = []
    missing: list[AccountRef] = []
    for line in event.lines:
        chosen = accounts.account_of(line.account)
        if chosen is None:
            if line.account not in missing:
                missing.append(line.account)
            continue
        items.append(_line(line, chosen))
    tax_unmapped = False
    if event.tax_total:
        tax_account = accounts.tax_account()
        if tax_account is None:
            tax_unmapped = True
        else:
            tax = {"amount": _money(event.tax_total), "description": "Tax"}
            items.append({**tax, "classifications": {"chartOfAccountId": tax_account}})
    body: dict[str, Any] = {
        "vendorId": vendor_id,
        "dueDate": (event.due_date or event.issue_date).isoformat(),
        "invoice": {
            "invoiceNumber": event.bill_number.strip(),
            "invoiceDate": event.issue_date.isoformat(),
        },
        "billLineItems": items,
    }
    if event.memo:
        body["description"] = event.memo
    return body, missing, tax_unmapped
