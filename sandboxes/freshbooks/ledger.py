"""Ledger (chart of) accounts under `/accounting/businesses/{business_uuid}/` (sheet section 7.7).

Unwrapped `{"data": ...}` bodies; POST (fields `name, number, description, sub_type,
parent_account`; 201) and PUT, no delete. Errors in the ledger shape of the SDK fixtures.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sandboxes.freshbooks.errors import LedgerError
from sandboxes.freshbooks.resources import public
from sandboxes.freshbooks.timefmt import iso_z
from sandboxes.kit import Record, SandboxClock, State

__all__ = ["Ledger", "ledger_account"]

EDITABLE = ("name", "number", "description", "sub_type")


def ledger_account(
    *,
    account_uuid: str,
    name: str,
    number: str | None,
    account_type: str,
    sub_type: str,
    parent: str | None,
    now: str,
    system: bool = False,
    description: str | None = None,
) -> Record:
    return {
        "id": account_uuid,
        "uuid": account_uuid,
        "name": name,
        "number": number,
        "description": description,
        "type": account_type,
        "sub_type": sub_type,
        "system_account_name": name if system else None,
        "parent_account": parent,
        "sub_accounts": [],
        "auto_created": system,
        "state": "active",
        "updated_at": now,
    }


def _view(record: Record, children: list[str]) -> Record:
    out = public(record)
    out.pop("id", None)
    out["sub_accounts"] = children
    return out


class Ledger:
    def __init__(self, state: State, clock: SandboxClock) -> None:
        self.state = state
        self.clock = clock

    def _children(self, account_uuid: str) -> list[str]:
        accounts = self.state.records("ledger_accounts")
        return [a["uuid"] for a in accounts if a.get("parent_account") == account_uuid]

    def list_accounts(self) -> dict[str, Any]:
        accounts = self.state.records("ledger_accounts")
        return {"data": [_view(a, self._children(a["uuid"])) for a in accounts]}

    def _get(self, account_uuid: str) -> Record:
        record = self.state.get("ledger_accounts", account_uuid)
        if record is None:
            raise LedgerError(404, [(None, "Not found.")])
        return record

    def get(self, account_uuid: str) -> dict[str, Any]:
        return {"data": _view(self._get(account_uuid), self._children(account_uuid))}

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        missing = [
            (name, "This field is required.")
            for name in ("name", "sub_type", "parent_account")
            if not body.get(name)
        ]
        if missing:
            raise LedgerError(400, list(missing))
        parent = self.state.get("ledger_accounts", body["parent_account"])
        if parent is None:
            raise LedgerError(400, [("parent_account", "Invalid account.")])
        record = ledger_account(
            account_uuid=str(uuid.uuid4()),
            name=str(body["name"]),
            number=None if body.get("number") is None else str(body["number"]),
            account_type=str(parent["type"]),
            sub_type=str(body["sub_type"]),
            parent=str(parent["uuid"]),
            now=iso_z(self.clock.now()),
            description=body.get("description"),
        )
        self.state.insert("ledger_accounts", record)
        return {"data": _view(record, [])}

    def update(self, account_uuid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        record = self._get(account_uuid)
        record.update({k: body[k] for k in EDITABLE if k in body})
        record["updated_at"] = iso_z(self.clock.now())
        return {"data": _view(record, self._children(account_uuid))}
