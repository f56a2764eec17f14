"""The records behind the entities: per-tenant Employees and Departments and their rules.

Sheet section 6 (PUT upsert): a body is matched by `id`, then by its key fields, then by the
URL's `$filter`; no match inserts. `If-None-Match: *` only inserts, `If-Match: *` only
updates (else 412). Only values that differ are written, and `LastModifiedDateTime` moves
only when something did. New employees get an auto-numbered `EmployeeID` and the class
defaults; `Status` must be one of its options and `DepartmentID`/`BranchID`/`EmployeeClass`
must exist (else 422 with the error on the field). Departments (sheet section 7): the key is
at most 10 characters, forced upper-case; the description at most 60.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sandboxes.acumatica.entities import DEPARTMENT, EMPLOYEE, EntityDef
from sandboxes.acumatica.errors import AcumaticaError
from sandboxes.acumatica.query import Predicate
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.acumatica.values import format_datetime
from sandboxes.kit import Record, SandboxClock, State

__all__ = ["COLLECTION_OF", "EntityStore", "FieldValidationError", "UpsertMode"]

COLLECTION_OF: dict[str, str] = {"Employee": "employees", "Department": "departments"}
EMPLOYEE_STATUSES = ("Active", "On Hold", "Hold Payments", "Inactive", "One-Time")
UpsertMode = Literal["upsert", "insert_only", "update_only"]


@dataclass
class FieldValidationError(Exception):
    """Validation failures: (path of names, message) each, and the verb for the summary."""

    problems: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    verb: str = "Inserting"

    def add(self, path: tuple[str, ...], message: str) -> None:
        self.problems.append((path, message))


def _definition(entity: str) -> EntityDef:
    return EMPLOYEE if entity == "Employee" else DEPARTMENT


def _get(record: Mapping[str, Any], path: tuple[str, ...]) -> object:
    current: Any = record
    for name in path:
        current = (current or {}).get(name)
    return current


def _merge(definition: EntityDef, target: Record, changes: Mapping[str, Any]) -> set[str]:
    """Write `changes` into `target`; the top-level names whose stored value changed."""
    changed: set[str] = set()
    for key, value in changes.items():
        if key in ("id", "delete") or key in definition.read_only:
            continue
        if key in definition.linked:
            inner = target.setdefault(key, {"id": str(uuid.uuid4())})
            if _merge(definition.linked[key], inner, value):
                changed.add(key)
        elif key in definition.details:
            if _merge_rows(definition.details[key], target.setdefault(key, []), value):
                changed.add(key)
        elif target.get(key) != value:
            target[key] = copy.deepcopy(value)
            changed.add(key)
    return changed


def _merge_rows(definition: EntityDef, rows: list[Record], changes: list[Any]) -> bool:
    changed = False
    for change in changes:
        row = next((r for r in rows if change.get("id") and r["id"] == change["id"]), None)
        if change.get("delete") is True:
            if row is not None:
                rows.remove(row)
                changed = True
            continue
        if row is None:
            row = {"id": str(uuid.uuid4())}
            rows.append(row)
            changed = True
        changed = bool(_merge(definition, row, change)) or changed
    return changed


class EntityStore:
    def __init__(
        self, state: State, clock: SandboxClock, settings: AcumaticaSandboxSettings
    ) -> None:
        self._state = state
        self._clock = clock
        self._settings = settings

    # --- reading ---------------------------------------------------------------------------

    def records(self, tenant: str, entity: str) -> list[Record]:
        rows = [r for r in self._state.records(COLLECTION_OF[entity]) if r["tenant"] == tenant]
        return sorted(rows, key=lambda r: str(r.get(_definition(entity).keys[0]) or ""))

    def by_id(self, tenant: str, entity: str, record_id: str) -> Record | None:
        record = self._state.get(COLLECTION_OF[entity], record_id)
        return record if record is not None and record["tenant"] == tenant else None

    def by_keys(self, tenant: str, entity: str, keys: tuple[str, ...]) -> Record | None:
        definition = _definition(entity)
        if len(keys) != len(definition.keys):
            return None
        for record in self.records(tenant, entity):
            stored = tuple(str(record.get(k) or "").upper() for k in definition.keys)
            if stored == tuple(k.upper() for k in keys):
                return record
        return None

    def exists(self, collection: str, tenant: str, code: object) -> bool:
        if not isinstance(code, str):
            return False
        return self._state.get(collection, f"{tenant}:{code.upper()}") is not None

    def department_exists(self, tenant: str, code: object) -> bool:
        return isinstance(code, str) and self.by_keys(tenant, "Department", (code,)) is not None

    # --- writing ---------------------------------------------------------------------------

    def upsert(
        self,
        tenant: str,
        entity: str,
        changes: Mapping[str, Any],
        *,
        mode: UpsertMode,
        url_filter: Predicate | None,
        branch: str,
    ) -> tuple[Record, bool, set[str]]:
        """Insert or update; (stored record, created?, changed top-level names)."""
        definition = _definition(entity)
        target = self._match(tenant, entity, definition, changes, url_filter)
        if target is not None and mode == "insert_only":
            raise AcumaticaError(
                412, "An entity with these keys already exists.",
                "PX.Api.ContractBased.EntityAlreadyExistsException",
            )  # fmt: skip
        if target is None and mode == "update_only":
            raise AcumaticaError(
                412, "No entity satisfies the condition.",
                "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
            )  # fmt: skip
        if target is None:
            return self._insert(tenant, entity, definition, changes, branch), True, set(changes)
        candidate = copy.deepcopy(target)
        changed = _merge(definition, candidate, changes)
        self._validate(tenant, entity, candidate, verb="Updating")
        if changed:
            self._finish(entity, candidate, changed)
            target.clear()
            target.update(candidate)
        return target, False, changed

    def _match(
        self,
        tenant: str,
        entity: str,
        definition: EntityDef,
        changes: Mapping[str, Any],
        url_filter: Predicate | None,
    ) -> Record | None:
        record_id = changes.get("id")
        if isinstance(record_id, str):
            found = self.by_id(tenant, entity, record_id)
            if found is not None:
                return found
        keys = tuple(changes.get(k) for k in definition.keys)
        if all(isinstance(k, str) and k for k in keys):
            found = self.by_keys(tenant, entity, keys)  # type: ignore[arg-type]
            if found is not None:
                return found
        if url_filter is not None:
            return next((r for r in self.records(tenant, entity) if url_filter(r)), None)
        return None

    def _insert(
        self,
        tenant: str,
        entity: str,
        definition: EntityDef,
        changes: Mapping[str, Any],
        branch: str,
    ) -> Record:
        record: Record = {"id": str(uuid.uuid4()), "tenant": tenant, "note": ""}
        if entity == "Employee":
            record.update(self._employee_defaults(tenant, branch))
        _merge(definition, record, changes)
        if entity == "Employee" and not record.get("EmployeeID"):
            record["EmployeeID"] = self._next_employee_id(tenant)
        self._validate(tenant, entity, record, verb="Inserting")
        self._finish(entity, record, set(changes))
        self._state.insert(COLLECTION_OF[entity], record)
        return record

    def _employee_defaults(self, tenant: str, branch: str) -> Record:
        settings = self._settings
        return {
            "Status": "Active",
            "ContactInfo": {"id": str(uuid.uuid4())},
            "EmployeeSettings": {
                "id": str(uuid.uuid4()),
                "BranchID": branch or None,
                "Calendar": settings.default_calendar,
                "CurrencyID": settings.default_currency,
                "EmployeeClass": settings.default_employee_class,
            },
            "FinancialSettings": {"id": str(uuid.uuid4())},
            "EmploymentHistory": [],
            "Attributes": [],
        }

    def _next_employee_id(self, tenant: str) -> str:
        prefix = self._settings.employee_id_prefix
        numbers = [
            int(code[len(prefix) :])
            for r in self.records(tenant, "Employee")
            if (code := str(r.get("EmployeeID") or "")).startswith(prefix)
            and code[len(prefix) :].isdigit()
        ]
        return f"{prefix}{max(numbers, default=0) + 1:0{self._settings.employee_id_digits}d}"

    def _finish(self, entity: str, record: Record, changed: set[str]) -> None:
        if entity == "Employee":
            contact = record.get("ContactInfo") or {}
            names = [contact.get("FirstName"), contact.get("LastName")]
            name = " ".join(n for n in names if n) or None
            record["EmployeeName"] = name
            contact["DisplayName"] = name
            only_contact = changed <= {"ContactInfo"}
            if only_contact and not self._settings.contact_change_bumps_last_modified:
                return
        else:
            record["DepartmentID"] = str(record.get("DepartmentID") or "").upper()
        record["LastModifiedDateTime"] = format_datetime(self._clock.now())

    def _validate(self, tenant: str, entity: str, record: Record, *, verb: str) -> None:
        errors = FieldValidationError(verb=verb)
        if entity == "Employee":
            self._validate_employee(tenant, record, errors)
        else:
            code = str(record.get("DepartmentID") or "")
            if not code:
                errors.add(("DepartmentID",), "'Department ID' cannot be empty.")
            elif len(code) > 10:
                errors.add(("DepartmentID",), "The value is too long (maximum 10 characters).")
            if len(str(record.get("Description") or "")) > 60:
                errors.add(("Description",), "The value is too long (maximum 60 characters).")
        if errors.problems:
            raise errors

    def _validate_employee(self, tenant: str, record: Record, errors: FieldValidationError) -> None:
        for required in self._settings.required_on_create:
            path = tuple(required.split("/"))
            if not _get(record, path):
                errors.add(path, f"'{path[-1]}' cannot be empty.")
        status = record.get("Status")
        if status not in EMPLOYEE_STATUSES:
            errors.add(("Status",), f"The value '{status}' is not in the list of allowed values.")
        settings = record.get("EmployeeSettings") or {}
        department = settings.get("DepartmentID")
        if department and not self.department_exists(tenant, department):
            message = f"'Department ID' cannot be found in the system. Value: {department}."
            errors.add(("EmployeeSettings", "DepartmentID"), message)
        checks = (("BranchID", "branches", "Branch"), ("EmployeeClass", "employee_classes",
                  "Employee Class"))  # fmt: skip
        for name, collection, label in checks:
            value = settings.get(name)
            if value and not self.exists(collection, tenant, value):
                message = f"'{label}' cannot be found in the system. Value: {value}."
                errors.add(("EmployeeSettings", name), message)

    def delete(self, entity: str, record: Record) -> None:
        self._state.delete(COLLECTION_OF[entity], record["id"])

    def change_employee_id(self, record: Record, new_id: str, tenant: str) -> None:
        if self.by_keys(tenant, "Employee", (new_id,)) is not None:
            raise AcumaticaError(500, f"The employee ID {new_id} is already in use.")
        record["EmployeeID"] = new_id
        record["LastModifiedDateTime"] = format_datetime(self._clock.now())
