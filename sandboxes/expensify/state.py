"""The sandbox's records and the lookups every job shares.

Collections (all visible at `GET /_sandbox/state/{collection}`):
`credentials` (partnerUserID, partnerUserSecret, email, issued), `policies` (workspaces),
`categories`, `tags` and `employees` (each with its `policyID`), `cards` (corporate cards),
`reports` (`status` is the API state OPEN/SUBMITTED/APPROVED/REIMBURSED/ARCHIVED,
`exportedLabels` the markAsExported labels), `transactions` (expenses, `reportID` null while
unreported), `files` (exports waiting for `download`) and `finished_actions` (the email and
sftpUpload onFinish actions, recorded, never sent).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sandboxes.kit import Record, SandboxClock, State

__all__ = [
    "COLLECTIONS",
    "REPORT_STATES",
    "Ledger",
    "decode_report_id",
    "encode_report_id",
    "parse_day",
    "public",
]

COLLECTIONS = (
    "credentials",
    "policies",
    "categories",
    "tags",
    "employees",
    "cards",
    "reports",
    "transactions",
    "files",
    "finished_actions",
)
REPORT_STATES = ("OPEN", "SUBMITTED", "APPROVED", "REIMBURSED", "ARCHIVED")
STAMP = "%Y-%m-%d %H:%M:%S"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def encode_report_id(numeric: str) -> str:
    """The base-62 "R00..." form of a numeric reportID [I: alphabet and padding]."""
    value, digits = int(numeric), ""
    while value:
        value, rest = divmod(value, 62)
        digits = BASE62[rest] + digits
    return "R" + digits.rjust(11, "0")


def decode_report_id(value: str) -> str:
    """A reportID from a filter, in either form, as the numeric string records keep."""
    text = value.strip()
    if len(text) == 12 and text.startswith("R") and all(c in BASE62 for c in text[1:]):
        number = 0
        for char in text[1:]:
            number = number * 62 + BASE62.index(char)
        return str(number)
    return text


def parse_day(value: object) -> date | None:
    """The date part of a stored `yyyy-mm-dd[ HH:MM:SS]` string (None when absent)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class Ledger:
    """Typed-enough access to the collections, plus the sandbox clock's stamps."""

    def __init__(self, state: State, clock: SandboxClock) -> None:
        self.state = state
        self.clock = clock
        self._issued: dict[str, int] = {}

    def stamp(self) -> str:
        return self.clock.now().strftime(STAMP)

    def today(self) -> date:
        return self.clock.now().date()

    def now(self) -> datetime:
        return self.clock.now()

    def _new_id(self, collection: str, floor: int) -> str:
        candidate = max(self.state.next_id(collection), floor, self._issued.get(collection, 0) + 1)
        self._issued[collection] = candidate
        return str(candidate)

    def new_report_id(self) -> str:
        return self._new_id("reports", 40_000_000)

    def new_transaction_id(self) -> str:
        return self._new_id("transactions", 6_720_309_558_240_000)

    def policy(self, policy_id: object) -> Record | None:
        return self.state.get("policies", policy_id)

    def of_policy(self, collection: str, policy_id: object) -> list[Record]:
        return [r for r in self.state.records(collection) if r.get("policyID") == policy_id]

    def employee(self, policy_id: object, email: object) -> Record | None:
        for record in self.of_policy("employees", policy_id):
            if str(record.get("email", "")).lower() == str(email).lower():
                return record
        return None

    def any_employee(self, email: object) -> Record | None:
        for record in self.state.records("employees"):
            if str(record.get("email", "")).lower() == str(email).lower():
                return record
        return None

    def report(self, report_id: object) -> Record | None:
        return self.state.get("reports", decode_report_id(str(report_id)))

    def expenses_of(self, report_id: object) -> list[Record]:
        found = [r for r in self.state.records("transactions") if r.get("reportID") == report_id]
        return sorted(found, key=lambda r: (str(r.get("created", "")), str(r["id"])))

    def category(self, policy_id: object, name: object) -> Record | None:
        for record in self.of_policy("categories", policy_id):
            if record.get("name") == name:
                return record
        return None

    def tag(self, policy_id: object, name: object) -> Record | None:
        for record in self.of_policy("tags", policy_id):
            if record.get("name") == name:
                return record
        return None

    def card(self, card_id: object) -> Record | None:
        return self.state.get("cards", card_id)

    def visible_policies(self, email: str) -> list[tuple[Record, str]]:
        """Policies `email` belongs to, with its role there (owners are admins)."""
        found: list[tuple[Record, str]] = []
        for policy in self.state.records("policies"):
            member = self.employee(policy["id"], email)
            if member is not None:
                found.append((policy, str(member.get("role", "user"))))
            elif str(policy.get("owner", "")).lower() == email.lower():
                found.append((policy, "admin"))
        return found


def public(record: Record) -> dict[str, Any]:
    """A record without the sandbox's bookkeeping keys."""
    return {k: v for k, v in record.items() if k != "id"}
