"""Every FreshBooks reference an expense report needs, resolved before its first write.

A report is written whole or not at all: if one line's category or the employee's bill
vendor cannot be found, nothing is written and the report waits in the review queue with
one reason per missing reference, each saying what would fix it. Looked up, in order:

**A line's expense category** (FreshBooks books bills and expenses on expense categories,
section 7.3):

1. the link's mapping table ``category``: the Expensify category -> a FreshBooks category
   (its id or its name);
2. the table ``gl-account``: the category's GL code -> a FreshBooks category;
3. a FreshBooks ledger account whose number is the GL code -> the expense category of the
   same name [inferred: FreshBooks does not say which account a category posts to (open
   question 8); a category and its account share a name];
4. else missing. A bookkeeper fixes it with ``mlc mappings set --kind category`` or creates
   the account in FreshBooks, and re-drives the report.

**The employee's bill vendor** (reimbursable lines only): the table ``bill-vendor`` (their
email -> a vendor id); else the vendor whose contact email is theirs; else the one named as
they are; else a new one when the link's option ``create_bill_vendors`` is true; else
missing.

**The staff member of company-paid expenses**: the staff member with the employee's email,
else the link's ``expense_staff_id`` (default 1, usually the owner [inferred, section 7.1]).

**Tags**: carried into the description as the cost centre (the table ``tag`` renames one:
Expensify's tag -> the text to carry), unless the link's ``carry_tags`` is false; FreshBooks
has no tag field (section 7.2).

FreshBooks' categories and ledger accounts are read once per
``MLC_FRESHBOOKS_LISTS_SECONDS`` per connection (:mod:`services.runtime.kept_reads`) and
again at once when they cannot place a line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from schemas.expense import ExpenseLine, ExpenseReportApproved
from services.freshbooks.client import FreshBooksClient
from services.freshbooks.mapping import employee_name
from services.freshbooks.models import BillVendor, ExpenseCategory, LedgerAccount
from services.runtime.kept_reads import KeptReads
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.store.review_queue import MissingReference

__all__ = [
    "BILL_VENDOR_KIND",
    "CATEGORY_KIND",
    "GL_ACCOUNT_KIND",
    "TAG_KIND",
    "Missing",
    "ReferenceResolver",
    "ReportReferences",
    "is_reimbursed",
]

CATEGORY_KIND: Final = "category"
GL_ACCOUNT_KIND: Final = "gl-account"
BILL_VENDOR_KIND: Final = "bill-vendor"
TAG_KIND: Final = "tag"
CREATE_VENDORS: Final = "create_bill_vendors"
STAFF_OPTION: Final = "expense_staff_id"
CARRY_TAGS: Final = "carry_tags"
_DEFAULT_STAFF: Final = 1
_ACTIVE: Final = 0


def _key(text: str | None) -> str:
    return (text or "").strip().casefold()


def is_reimbursed(line: ExpenseLine) -> bool:
    """Whether the line goes on the employee's bill (else it is a company-paid expense)."""
    return line.reimbursable and not line.card_transaction


@dataclass(frozen=True, slots=True)
class Missing:
    """One reference that could not be resolved: what, for which value, and the fix."""

    missing: str
    value: str
    fix: str
    mapping: tuple[str, str] | None = None
    """The link mapping (kind, source value) that would fix it, when one would."""

    def as_json(self) -> MissingReference:
        said: MissingReference = {"missing": self.missing, "value": self.value, "fix": self.fix}
        if self.mapping is not None:
            said["mapping_kind"], said["mapping_source"] = self.mapping
        return said

    def sentence(self) -> str:
        return f"no FreshBooks {self.missing} for {self.value}: {self.fix}"


@dataclass(frozen=True, slots=True)
class ReportReferences:
    """What the report's writes need, all found."""

    categories: Mapping[str, int]  # expense id -> expense category id
    tags: Mapping[str, str]  # expense id -> cost centre text to carry
    vendor: BillVendor | None  # for the reimbursable lines; None with create_vendor
    create_vendor: bool
    staff_id: int


@dataclass
class _Tables:
    rows: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> key -> target

    def get(self, kind: str, value: str | None) -> str | None:
        return self.rows.get(kind, {}).get(_key(value)) if value else None


class ReferenceResolver:
    """Resolves reports' references against one process's kept FreshBooks lists."""

    def __init__(self, *, store: StateStore, keep_seconds: float) -> None:
        self._store = store
        self._categories: KeptReads[list[ExpenseCategory]] = KeptReads(keep_seconds=keep_seconds)
        self._ledgers: KeptReads[list[LedgerAccount]] = KeptReads(keep_seconds=keep_seconds)

    def forget(self, connection_id: str) -> None:
        """FreshBooks refused a write: read its lists again next time."""
        self._categories.forget(connection_id)
        self._ledgers.forget(connection_id)

    async def resolve(
        self, event: ExpenseReportApproved, link: LinkRecord, client: FreshBooksClient
    ) -> ReportReferences | list[Missing]:
        """Every reference of ``event`` for ``link``, or each one that is missing."""
        tables = await self._tables(link)
        categories, missing = await self._categories_of(event, link, client, tables, fresh=False)
        if missing:
            categories, missing = await self._categories_of(event, link, client, tables, fresh=True)
        vendor, create_vendor = None, False
        if any(is_reimbursed(line) for line in event.expenses):
            vendor = await self._vendor(event, client, tables)
            create_vendor = vendor is None and link.options.get(CREATE_VENDORS) is True
            if vendor is None and not create_vendor:
                missing.append(_no_vendor(event, link))
        if missing:
            return missing
        return ReportReferences(
            categories=categories,
            tags=_tags(event, link, tables),
            vendor=vendor,
            create_vendor=create_vendor,
            staff_id=await _staff(event, link, client),
        )

    async def _tables(self, link: LinkRecord) -> _Tables:
        tables = _Tables()
        async with self._store.transaction() as repos:
            for row in await repos.mappings.list(link.id):
                tables.rows.setdefault(row.kind, {})[_key(row.source_value)] = row.target_value
        return tables

    async def _categories_of(
        self,
        event: ExpenseReportApproved,
        link: LinkRecord,
        client: FreshBooksClient,
        tables: _Tables,
        *,
        fresh: bool,
    ) -> tuple[dict[str, int], list[Missing]]:
        key = client.connection_id
        categories = (
            await self._categories.read(key, client.expense_categories, fresh=fresh)
        ).value
        ledger: Sequence[LedgerAccount] = ()
        if any(line.category_code for line in event.expenses):
            ledger = (await self._ledgers.read(key, client.ledger_accounts, fresh=fresh)).value
        found: dict[str, int] = {}
        missing: list[Missing] = []
        for line in event.expenses:
            category = _category(line, categories, ledger, tables)
            if category is not None:
                found[line.expense_id] = category
                continue
            value = (line.category or "(no category)") + (
                f" (GL {line.category_code})" if line.category_code else ""
            )
            reason = Missing(
                "expense category",
                value,
                _category_fix(line, link),
                mapping=(CATEGORY_KIND, line.category) if line.category else None,
            )
            if reason not in missing:
                missing.append(reason)
        return found, missing

    async def _vendor(
        self, event: ExpenseReportApproved, client: FreshBooksClient, tables: _Tables
    ) -> BillVendor | None:
        vendors = [v async for v in client.bill_vendors() if v.vis_state == _ACTIVE]
        mapped = tables.get(BILL_VENDOR_KIND, event.employee_email)
        if mapped is not None:
            return next((v for v in vendors if str(v.vendorid) == mapped.strip()), None)
        email = _key(event.employee_email)
        by_email = [v for v in vendors if _key(v.primary_contact_email) == email]
        if by_email:
            return min(by_email, key=lambda v: v.vendorid)
        name = _key(employee_name(event))
        by_name = [v for v in vendors if name and _key(v.vendor_name) == name]
        return min(by_name, key=lambda v: v.vendorid) if by_name else None


def _named(target: str, categories: Sequence[ExpenseCategory]) -> int | None:
    """The active category a table's value names: its id, else its name."""
    active = [c for c in categories if c.vis_state == _ACTIVE]
    for category in active:
        if target.strip() == str(category.id):
            return category.id
    return next((c.id for c in active if _key(c.category) == _key(target)), None)


def _category(
    line: ExpenseLine,
    categories: Sequence[ExpenseCategory],
    ledger: Sequence[LedgerAccount],
    tables: _Tables,
) -> int | None:
    for target in (
        tables.get(CATEGORY_KIND, line.category),
        tables.get(GL_ACCOUNT_KIND, line.category_code),
    ):
        if target is not None:
            return _named(target, categories)
    code = (line.category_code or "").strip()
    if code:
        for account in ledger:
            if (account.number or "").strip() == code and account.state in (None, "active"):
                return _named(account.name, categories)
    return None


def _category_fix(line: ExpenseLine, link: LinkRecord) -> str:
    source = line.category or ""
    fix = f"mlc mappings set --link {link.id} --kind {CATEGORY_KIND} {source!r} <category>"
    if line.category_code:
        fix += f", or give the FreshBooks account of that category the number {line.category_code}"
    return fix + ", then mlc review redrive"


def _no_vendor(event: ExpenseReportApproved, link: LinkRecord) -> Missing:
    fix = (
        f"create a bill vendor with the email {event.employee_email} in FreshBooks, or "
        f"mlc mappings set --link {link.id} --kind {BILL_VENDOR_KIND} "
        f"{event.employee_email} <vendor id>, or set the link option {CREATE_VENDORS} "
        "true; then mlc review redrive"
    )
    return Missing(
        "bill vendor", event.employee_email, fix, mapping=(BILL_VENDOR_KIND, event.employee_email)
    )


def _tags(event: ExpenseReportApproved, link: LinkRecord, tables: _Tables) -> dict[str, str]:
    if link.options.get(CARRY_TAGS) is False:
        return {}
    carried: dict[str, str] = {}
    for line in event.expenses:
        if line.tags:
            tag = line.tags[0]
            carried[line.expense_id] = tables.get(TAG_KIND, tag) or tag
    return carried


async def _staff(event: ExpenseReportApproved, link: LinkRecord, client: FreshBooksClient) -> int:
    if all(is_reimbursed(line) for line in event.expenses):
        return _DEFAULT_STAFF  # no company-paid line: nobody to name
    active = [s for s in await client.find_staff_by_email(event.employee_email)
              if s.vis_state == _ACTIVE]  # fmt: skip
    if active:
        return min(s.id for s in active)
    option = link.options.get(STAFF_OPTION, _DEFAULT_STAFF)
    return (
        int(option) if isinstance(option, int | str) and str(option).isdigit() else _DEFAULT_STAFF
    )
