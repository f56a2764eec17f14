"""BambooHR's records and the rules that change them: employees, jobInfo and employmentStatus
rows (effective on their date, on the sandbox clock), list options and change tracking.

Every change goes through `People`, which recomputes the employee's current values from the
tables, stamps `lastChanged`, remembers the change for `/employees/changed` and tells the
webhook emitter which fields changed. Internal keys start with `_` and are never served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sandboxes.bamboohr.errors import BambooError
from sandboxes.bamboohr.fields import FIELDS, JOB_INFO_FIELDS, LIST_FIELDS, READ_ONLY
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from sandboxes.kit import Record, SandboxClock, State

__all__ = [
    "COLLECTIONS",
    "TABLES",
    "TERMINATED_STATUSES",
    "EmployeeEvent",
    "People",
    "public",
    "timestamp",
]

COLLECTIONS = (
    "employees",
    "jobInfo",
    "employmentStatus",
    "lists",
    "api_keys",
    "oauth_clients",
    "webhooks",
    "deletions",
    "saved_reports",
)
TABLES = ("jobInfo", "employmentStatus")
TERMINATED_STATUSES = frozenset({"Terminated"})
EMPLOYMENT_STATUS_COLUMNS = (
    "date",
    "employmentStatus",
    "terminationTypeId",
    "terminationReasonId",
    "terminationRehireId",
    "comment",
)

EventKind = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class EmployeeEvent:
    kind: EventKind
    employee_id: str
    changed_fields: tuple[str, ...]
    values: dict[str, Any]


def timestamp(moment: datetime) -> str:
    """BambooHR's `lastChanged` form: `2026-02-02T09:15:00+00:00`."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record without the sandbox's internal (`_`-prefixed) keys."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


class People:
    """All writes to people data, with BambooHR's derived values and change notifications."""

    def __init__(
        self,
        state: State,
        clock: SandboxClock,
        settings: BambooHRSandboxSettings,
        notify: Callable[[EmployeeEvent], None],
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings
        self.notify = notify

    # --- reading -----------------------------------------------------------------------

    def today(self) -> str:
        return self.clock.now().date().isoformat()

    def employee(self, employee_id: str) -> Record:
        record = self.state.get("employees", employee_id)
        if record is None:
            raise BambooError(404, "Employee not found")
        return record

    def rows(self, table: str, employee_id: str | None = None) -> list[Record]:
        if table not in TABLES:
            raise BambooError(404, f"Table not found: {table}")
        rows = self.state.records(table)
        if employee_id is not None:
            rows = [row for row in rows if row["employeeId"] == employee_id]
        return rows

    def list_options(self, alias: str) -> list[str]:
        for field in self.state.records("lists"):
            if field.get("alias") == alias:
                return [o["name"] for o in field["options"] if o.get("archived") != "yes"]
        return []

    def find_by_work_email(self, email: str) -> Record | None:
        wanted = email.strip().lower()
        for record in self.state.records("employees"):
            if (record.get("workEmail") or "").lower() == wanted:
                return record
        return None

    # --- writing -----------------------------------------------------------------------

    def create(self, values: Mapping[str, Any]) -> Record:
        """A new employee (`firstName` and `lastName` required; duplicate work email 409)."""
        self._check_writable(values)
        if not values.get("firstName") or not values.get("lastName"):
            raise BambooError(400, "firstName and lastName are required")
        email = values.get("workEmail")
        if email and self.find_by_work_email(str(email)) is not None:
            raise BambooError(409, "An employee with that work email already exists")
        now = self.clock.now()
        employee_id = str(self.state.next_id("employees"))
        plain = {k: v for k, v in values.items() if k not in JOB_INFO_FIELDS}
        record: Record = {
            "id": employee_id,
            "employeeNumber": employee_id,
            "status": "Active",
            "hireDate": self.today(),
            **{alias: None for alias in ("workEmail", "homeEmail", "preferredName")},
            **{alias: None for alias in JOB_INFO_FIELDS},
            "employmentHistoryStatus": None,
            "terminationDate": None,
            **plain,
            "_created": timestamp(now),
        }
        self.state.insert("employees", record)
        job = {k: values[k] for k in JOB_INFO_FIELDS if values.get(k)}
        if job:
            self._insert_row("jobInfo", employee_id, {"date": record["hireDate"], **job})
        self._insert_row(
            "employmentStatus",
            employee_id,
            {"date": record["hireDate"], "employmentStatus": "Full-Time"},
        )
        self._derive(record)
        record["lastChanged"] = timestamp(now)
        self.notify(EmployeeEvent("created", employee_id, (), public(record)))
        set_fields = tuple(sorted(k for k, v in public(record).items() if v not in (None, "")))
        self.notify(EmployeeEvent("updated", employee_id, set_fields, public(record)))
        return record

    def update(self, employee_id: str, values: Mapping[str, Any]) -> tuple[str, ...]:
        """Change fields; job fields become a jobInfo row dated today (sheet 4)."""
        record = self.employee(employee_id)
        self._check_writable(values)
        email = values.get("workEmail")
        if email:
            other = self.find_by_work_email(str(email))
            if other is not None and other["id"] != employee_id:
                raise BambooError(409, "An employee with that work email already exists")
        before = public(record)
        job = {k: values[k] for k in JOB_INFO_FIELDS if k in values}
        record.update({k: v for k, v in values.items() if k not in JOB_INFO_FIELDS})
        if job:
            current = self._current_row("jobInfo", employee_id) or {}
            base = {k: current.get(k) for k in JOB_INFO_FIELDS}
            self._insert_row("jobInfo", employee_id, {**base, **job, "date": self.today()})
        return self._settle(record, before)

    def add_row(self, table: str, employee_id: str, values: Mapping[str, Any]) -> Record:
        record = self.employee(employee_id)
        if table not in TABLES:
            raise BambooError(404, f"Table not found: {table}")
        if not values.get("date"):
            raise BambooError(400, "date is required")
        if table == "employmentStatus":
            self._check_employment_status(values)
        else:
            self._check_list_values({k: v for k, v in values.items() if k in LIST_FIELDS})
        before = public(record)
        row = self._insert_row(table, employee_id, dict(values))
        # A new row bumps /employees/changed even when it is not in effect yet (sheet 7).
        self._settle(record, before, force=True)
        return row

    def update_row(
        self, table: str, employee_id: str, row_id: str, values: Mapping[str, Any]
    ) -> None:
        record = self.employee(employee_id)
        row = self.state.get(table, row_id) if table in TABLES else None
        if row is None or row["employeeId"] != employee_id:
            raise BambooError(404, "Row not found")
        if {"id", "employeeId"} & set(values):
            raise BambooError(400, "id and employeeId cannot be changed")
        merged = {
            k: v for k, v in {**public(row), **values}.items() if k not in ("id", "employeeId")
        }
        if table == "employmentStatus":
            self._check_employment_status(merged)
        else:
            self._check_list_values({k: v for k, v in values.items() if k in LIST_FIELDS})
        before = public(record)
        row.update(values)
        row["_pending"] = str(row["date"]) > self.today()
        self._settle(record, before, force=True)

    def delete(self, employee_id: str) -> None:
        self.employee(employee_id)
        self.state.delete("employees", employee_id)
        for table in TABLES:
            for row in self.rows(table, employee_id):
                self.state.delete(table, row["id"])
        now = timestamp(self.clock.now())
        self.state.insert("deletions", {"id": employee_id, "lastChanged": now})
        self.notify(EmployeeEvent("deleted", employee_id, (), {"id": employee_id}))

    def apply_due(self) -> None:
        """Rows whose date has come take effect now (and fire `employee.updated` now)."""
        today = self.today()
        touched: set[str] = set()
        for table in TABLES:
            for row in self.state.records(table):
                if row.get("_pending") and str(row["date"]) <= today:
                    row["_pending"] = False
                    touched.add(row["employeeId"])
        for employee_id in sorted(touched):
            record = self.state.get("employees", employee_id)
            if record is not None:
                self._settle(record, public(record), force=True)

    # --- rules -------------------------------------------------------------------------

    def _check_writable(self, values: Mapping[str, Any]) -> None:
        """An employee create or update: unknown fields 406, an invalid value 409 (SPEC)."""
        unknown = [k for k in values if k not in FIELDS and not k.startswith("custom")]
        if unknown:
            raise BambooError(406, f"Unknown field(s): {', '.join(sorted(unknown))}")
        locked = [k for k in values if k in READ_ONLY]
        if locked:
            raise BambooError(400, f"Read-only field(s): {', '.join(sorted(locked))}")
        # SPEC create-employee / update-employee: "a field was given an invalid value" is 409.
        values_of_lists = {k: v for k, v in values.items() if k in LIST_FIELDS}
        self._check_list_values(values_of_lists, status=409)

    def _check_list_values(self, values: Mapping[str, Any], *, status: int = 406) -> None:
        """A list field's value must be one of its active options. Table rows answer 406
        ("one or more field values are invalid", SPEC), employee writes 409."""
        for alias, value in values.items():
            if value in (None, ""):
                continue
            options = self.list_options(alias)
            if options and value not in options:
                raise BambooError(status, f"Invalid value for {alias}: {value}")

    def _check_employment_status(self, values: Mapping[str, Any]) -> None:
        status = values.get("employmentStatus")
        if not status:
            raise BambooError(400, "employmentStatus is required")
        unknown = [k for k in values if k not in EMPLOYMENT_STATUS_COLUMNS]
        if unknown:
            raise BambooError(406, f"Unknown field(s): {', '.join(sorted(unknown))}")
        self._check_list_values({"employmentHistoryStatus": status})
        if status in TERMINATED_STATUSES:
            missing = [
                k
                for k in ("terminationTypeId", "terminationReasonId", "terminationRehireId")
                if not values.get(k)
            ]
            if missing:
                raise BambooError(400, f"Required for a termination: {', '.join(missing)}")

    def _insert_row(self, table: str, employee_id: str, values: dict[str, Any]) -> Record:
        row_id = str(self.state.next_id(table))
        row: Record = {"id": row_id, "employeeId": employee_id}
        columns = JOB_INFO_FIELDS if table == "jobInfo" else EMPLOYMENT_STATUS_COLUMNS
        row.update({column: values.get(column) for column in ("date", *columns)})
        if table == "jobInfo":
            row["teams"] = values.get("teams")
        row["_pending"] = str(row["date"]) > self.today()
        return self.state.insert(table, row)

    def _current_row(self, table: str, employee_id: str) -> Record | None:
        effective = [row for row in self.rows(table, employee_id) if not row.get("_pending")]
        if not effective:
            return None
        return max(effective, key=lambda row: (str(row["date"]), int(row["id"])))

    def _derive(self, record: Record) -> None:
        """Current values from the tables, the way BambooHR shows them on the employee."""
        employee_id = record["id"]
        job = self._current_row("jobInfo", employee_id)
        if job is not None:
            record.update({k: job.get(k) for k in JOB_INFO_FIELDS})
        status_row = self._current_row("employmentStatus", employee_id)
        if status_row is not None:
            value = status_row["employmentStatus"]
            was_terminated = record.get("employmentHistoryStatus") in TERMINATED_STATUSES
            record["employmentHistoryStatus"] = value
            if value in TERMINATED_STATUSES:
                record["terminationDate"] = status_row["date"]
                record["status"] = "Inactive"
            else:
                if was_terminated:
                    # Rehire: the old hire date moves to originalHireDate (sheet 4).
                    record["originalHireDate"] = record.get("originalHireDate") or record.get(
                        "hireDate"
                    )
                    record["hireDate"] = status_row["date"]
                    record["terminationDate"] = None
                record["status"] = "Active"
        if self.settings.inactive_from == "immediately":
            pending = [
                row
                for row in self.rows("employmentStatus", employee_id)
                if row.get("_pending") and row["employmentStatus"] in TERMINATED_STATUSES
            ]
            if pending:
                record["status"] = "Inactive"
        first = record.get("preferredName") or record.get("firstName") or ""
        record["displayName"] = f"{first} {record.get('lastName') or ''}".strip()
        record["bestEmail"] = record.get("workEmail") or record.get("homeEmail")

    def _settle(
        self, record: Record, before: Mapping[str, Any], *, force: bool = False
    ) -> tuple[str, ...]:
        self._derive(record)
        after = public(record)
        changed = tuple(
            sorted(
                key
                for key in set(after) | set(before)
                if key != "lastChanged" and after.get(key) != before.get(key)
            )
        )
        if changed or force:
            record["lastChanged"] = timestamp(self.clock.now())
        if changed:
            self.notify(EmployeeEvent("updated", record["id"], changed, public(record)))
        return changed
