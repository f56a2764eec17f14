"""`GET /contacts`: filters, sorting and `page`/`per_page` paging with `page_context` (7, 8).

Text filters come as `<field>` (exact, case-insensitive), `<field>_startswith` and
`<field>_contains`; `email` also matches every contact person's email [V]. Without
`sort_column` Zoho sorts by contact_name ascending [V3p NANGO list-contacts echo].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sandboxes.kit import Record
from sandboxes.zoho.contacts import invalid
from sandboxes.zoho.settings import ZohoSandboxSettings

__all__ = ["FILTERS", "SORT_COLUMNS", "ContactQuery"]

FILTERS = ("Status.All", "Status.Active", "Status.Inactive", "Status.Duplicate",
           "Status.PortalEnabled", "Status.PortalDisabled", "Invoice.OverDue",
           "Invoice.Unpaid", "Status.CreditLimitExceed", "Status.Crm")  # fmt: skip
SORT_COLUMNS = ("contact_name", "first_name", "last_name", "email",
                "outstanding_receivable_amount", "created_time", "last_modified_time")  # fmt: skip
TEXT_FIELDS = ("contact_name", "company_name", "first_name", "last_name", "address", "email",
               "phone")  # fmt: skip
MAX_TEXT = 100  # [V] each text filter is at most 100 characters


def _texts(full: Mapping[str, Any], field: str) -> list[str]:
    persons = full.get("contact_persons", [])
    if field == "email":
        return [str(full.get("email", ""))] + [str(p.get("email", "")) for p in persons]
    if field == "phone":
        values = [str(full.get("phone", "")), str(full.get("mobile", ""))]
        return values + [str(p.get(k, "")) for p in persons for k in ("phone", "mobile")]
    if field == "address":
        return [
            str(full.get(kind, {}).get(part, ""))
            for kind in ("billing_address", "shipping_address")
            for part in ("address", "street2", "city", "state", "zip", "country")
        ]
    return [str(full.get(field, ""))]


def _status_filter(name: str) -> Callable[[Mapping[str, Any]], bool]:
    checks: dict[str, Callable[[Mapping[str, Any]], bool]] = {
        "Status.All": lambda c: True,
        "Status.Active": lambda c: c["status"] == "active",
        "Status.Inactive": lambda c: c["status"] == "inactive",
        "Status.PortalEnabled": lambda c: c.get("portal_status") == "enabled",
        "Status.PortalDisabled": lambda c: c.get("portal_status") != "enabled",
        "Invoice.OverDue": lambda c: float(c.get("outstanding_receivable_amount") or 0) > 0,
        "Invoice.Unpaid": lambda c: float(c.get("outstanding_receivable_amount") or 0) > 0,
        "Status.CreditLimitExceed": lambda c: float(c.get("credit_limit_exceeded_amount") or 0) > 0,
        "Status.Crm": lambda c: bool(c.get("is_linked_with_zohocrm")),
    }
    return checks.get(name, lambda c: True)


def _sort_key(column: str) -> Callable[[Mapping[str, Any]], Any]:
    if column in ("created_time", "last_modified_time"):
        return lambda c: datetime.strptime(str(c[column]), "%Y-%m-%dT%H:%M:%S%z")
    if column == "outstanding_receivable_amount":
        return lambda c: float(c.get(column) or 0)
    return lambda c: str(c.get(column, "")).casefold()


class ContactQuery:
    """One parsed `GET /contacts` query; `run` filters, sorts and pages rendered contacts."""

    def __init__(self, params: Mapping[str, str], settings: ZohoSandboxSettings) -> None:
        self.params = params
        self.filter_by = params.get("filter_by", "Status.All")
        if self.filter_by not in FILTERS:
            raise invalid("filter_by")
        self.sort_column = params.get("sort_column", "contact_name")
        if self.sort_column not in SORT_COLUMNS:
            raise invalid("sort_column")
        self.sort_order = params.get("sort_order", "A")
        if self.sort_order not in ("A", "D"):
            raise invalid("sort_order")
        self.page = self._positive("page", 1)
        per_page = self._positive("per_page", settings.max_per_page)
        if per_page > settings.max_per_page and not settings.cap_per_page:
            raise invalid("per_page")
        self.per_page = min(per_page, settings.max_per_page)
        contact_type = params.get("contact_type")
        if contact_type is not None and contact_type not in ("customer", "vendor"):
            raise invalid("contact_type")
        for key, value in params.items():
            if key.split("_startswith")[0].split("_contains")[0] in TEXT_FIELDS and (
                len(value) > MAX_TEXT
            ):
                raise invalid(key)

    def _positive(self, name: str, default: int) -> int:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or int(raw) < 1:
            raise invalid(name)
        return int(raw)

    def matches(self, full: Mapping[str, Any], record: Record) -> bool:
        p = self.params
        if "contact_type" in p and full["contact_type"] != p["contact_type"]:
            return False
        if not _status_filter(self.filter_by)(full):
            return False
        return self._text_matches(full) and self._other_matches(full, record)

    def _text_matches(self, full: Mapping[str, Any]) -> bool:
        p = self.params
        for field in TEXT_FIELDS:
            texts = [t.casefold() for t in _texts(full, field)]
            if field in p and p[field].casefold() not in texts:
                return False
            start = p.get(f"{field}_startswith")
            if start is not None and not any(t.startswith(start.casefold()) for t in texts):
                return False
            inside = p.get(f"{field}_contains")
            if inside is not None and not any(inside.casefold() in t for t in texts):
                return False
        return True

    def _other_matches(self, full: Mapping[str, Any], record: Record) -> bool:
        p = self.params
        search = p.get("search_text")
        if search is not None:
            haystack = f"{full['contact_name']} {full.get('notes', '')}".casefold()
            if search.casefold() not in haystack:
                return False
        for crm in ("zcrm_contact_id", "zcrm_account_id", "zcrm_vendor_id"):
            if crm in p and str(record.get(crm, "")) != p[crm]:
                return False
        return True

    def run(
        self, rendered: list[tuple[dict[str, Any], Record]]
    ) -> tuple[list[Any], dict[str, Any]]:
        """The page of (full, record) pairs that match, and the `page_context` to answer."""
        hits = [pair for pair in rendered if self.matches(*pair)]
        key = _sort_key(self.sort_column)
        hits.sort(key=lambda pair: key(pair[0]), reverse=self.sort_order == "D")
        start = (self.page - 1) * self.per_page
        page = hits[start : start + self.per_page]
        context = {
            "page": self.page,
            "per_page": self.per_page,
            "has_more_page": start + self.per_page < len(hits),
            "report_name": "Contacts",
            "applied_filter": self.filter_by,
            "custom_fields": [],
            "sort_column": self.sort_column,
            "sort_order": self.sort_order,
        }
        return page, context
