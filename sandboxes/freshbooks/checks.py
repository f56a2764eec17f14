"""FreshBooks' validation of accounting bodies: required fields, values, money, references.

Failures are errno 1001 (required) and 1004 (invalid value) in the accounting errors
envelope, with the HTTP status of the `validation_status` setting; unknown records 1012.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.freshbooks.errors import (
    INVALID_VALUE,
    REQUIRED,
    AccountingError,
    accounting_error,
    not_found,
)
from sandboxes.freshbooks.resources import Resource
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.kit import Record, State

__all__ = ["Checks"]


class Checks:
    """Validation helpers bound to the account's state and settings."""

    def __init__(self, state: State, settings: FreshBooksSandboxSettings) -> None:
        self.state = state
        self.settings = settings

    @property
    def account_id(self) -> str:
        businesses = self.state.records("businesses")
        return str(businesses[0]["account_id"]) if businesses else ""

    def day(self, resource: Resource, name: str, value: object) -> date:
        """A `YYYY-MM-DD` date, or errno 1004."""
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.invalid(resource, name, f"Invalid date for {name}.", value) from None

    def invalid(
        self, resource: Resource, name: str, message: str, value: object = None
    ) -> AccountingError:
        return accounting_error(
            self.settings.validation_status,
            INVALID_VALUE,
            message,
            field=name,
            object=resource.single,
            value=value,
        )

    def required(self, resource: Resource, body: Mapping[str, Any], *names: str) -> None:
        for name in names:
            if body.get(name) in (None, "", [], {}):
                raise accounting_error(
                    self.settings.validation_status,
                    REQUIRED,
                    f"Field {name} is required.",
                    field=name,
                    object=resource.single,
                    value="",
                )

    def money(self, resource: Resource, name: str, value: object) -> tuple[Decimal, str]:
        if not isinstance(value, Mapping) or "amount" not in value:
            raise self.invalid(resource, name, f"Invalid value for {name}.", value)
        try:
            amount = Decimal(str(value["amount"]))
        except InvalidOperation:
            raise self.invalid(resource, name, f"Invalid amount for {name}.", value) from None
        return amount, str(value.get("code") or self.currency)

    @property
    def currency(self) -> str:
        businesses = self.state.records("businesses")
        return str(businesses[0].get("_currency", "USD")) if businesses else "USD"

    def existing(self, resource: Resource, record_id: object) -> Record:
        record = self.state.get(resource.collection, record_id)
        if record is None:
            raise not_found(resource.single, resource.legacy_id or "id", record_id)
        return record

    def reference(self, resource: Resource, target: Resource, name: str, value: object) -> Record:
        record = self.state.get(target.collection, value) if value is not None else None
        if record is None or int(record.get("vis_state", 0)) == 1:
            raise self.invalid(resource, name, f"Invalid {name}: {value}.", value)
        return record
