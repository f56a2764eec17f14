"""People events: employees and the reference data they point at.

Published by the HR source to ``people.employee`` and ``people.department``;
consumed by the sinks that keep staff, contacts and employee records in step.
Departments, divisions and job titles travel by name inside an employee (that
is how HR systems hand them out) and as their own reference-data events, so a
sink that needs them first (departments before employees) can create them.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from schemas.snapshot import Snapshot
from schemas.topics import topic

__all__ = [
    "DepartmentChanged",
    "EmployeeChanged",
    "EmployeeStatus",
    "JobTitleChanged",
    "OrgUnitKind",
]

EmployeeStatus = Literal["active", "inactive", "terminated"]
OrgUnitKind = Literal["department", "division"]


class EmployeeChanged(Snapshot):
    """An employee was created or changed: the full record as it now stands.

    Sinks match people by ``work_email`` (case-insensitively) before they create
    anyone, and by the cross-reference of ``employee_id`` after that.
    ``terminated`` means the person left: sinks deactivate or soft-delete, never
    hard-delete, so history stays intact.
    """

    topic_name: ClassVar[str] = topic("people.employee").name
    entity_key_fields: ClassVar[tuple[str, ...]] = ("employee_id",)

    type: Literal["EmployeeChanged"] = "EmployeeChanged"
    schema_version: int = 1

    employee_id: str = Field(min_length=1, description="The employee's id in the HR source.")
    status: EmployeeStatus = Field(
        description=(
            "active: employed and active; inactive: kept but switched off in the source; "
            "terminated: employment ended (see termination_date)."
        )
    )
    first_name: str = Field(min_length=1)
    last_name: str = Field(min_length=1)
    preferred_name: str | None = Field(
        default=None, description="The name the person goes by, where it differs from first_name."
    )
    work_email: str | None = Field(
        default=None,
        description="Work email address; the natural key sinks match people by. None when unset.",
    )
    department: str | None = Field(default=None, description="Current department, by name.")
    division: str | None = Field(default=None, description="Current division, by name.")
    job_title: str | None = Field(default=None, description="Current job title, by name.")
    location: str | None = Field(default=None, description="Current work location, by name.")
    employment_status: str | None = Field(
        default=None,
        description="The source's employment-status label (e.g. 'Full-Time', 'Contractor').",
    )
    hire_date: date | None = None
    termination_date: date | None = Field(
        default=None, description="Last day of employment; set when status is terminated."
    )
    supervisor_id: str | None = Field(
        default=None, description="employee_id of the person's manager in the same source."
    )
    changed_fields: tuple[str, ...] = Field(
        default=(),
        description=(
            "Names of the fields above that changed in this revision; empty when the source "
            "did not say (a poll or a reconciliation), in which case sinks compare everything."
        ),
    )

    @model_validator(mode="after")
    def _changed_fields_name_payload_fields(self) -> Self:
        unknown = sorted(set(self.changed_fields) - _EMPLOYEE_PAYLOAD_FIELDS)
        if unknown:
            msg = (
                f"changed_fields names unknown fields {unknown}; "
                f"use the field names of EmployeeChanged: {sorted(_EMPLOYEE_PAYLOAD_FIELDS)}"
            )
            raise ValueError(msg)
        return self

    @property
    def display_name(self) -> str:
        """The name to show a person by: preferred first name, then last name."""
        return f"{self.preferred_name or self.first_name} {self.last_name}"


_EMPLOYEE_PAYLOAD_FIELDS = (
    frozenset(EmployeeChanged.model_fields) - frozenset(Snapshot.model_fields) - {"changed_fields"}
)


class DepartmentChanged(Snapshot):
    """A department or division was created, renamed, archived or restored.

    Keyed by kind and id, so a rename is one record changing, not a new one.
    """

    topic_name: ClassVar[str] = topic("people.department").name
    entity_key_fields: ClassVar[tuple[str, ...]] = ("kind", "unit_id")

    type: Literal["DepartmentChanged"] = "DepartmentChanged"
    schema_version: int = 1

    kind: OrgUnitKind = Field(description="Whether this is a department or a division.")
    unit_id: str = Field(
        min_length=1, description="The department's or division's id in the source."
    )
    name: str = Field(min_length=1, description="Its current name; employees refer to it by this.")
    previous_name: str | None = Field(
        default=None,
        description="The name before a rename, when known, so sinks keyed by name can follow it.",
    )
    active: bool = Field(description="False when the source archived it; it stays for history.")


class JobTitleChanged(Snapshot):
    """A job title was created, renamed, archived or restored in the source's list."""

    topic_name: ClassVar[str] = topic("people.department").name
    entity_key_fields: ClassVar[tuple[str, ...]] = ("job_title_id",)
    # Shares people.department with departments and divisions ("department:<id>").
    entity_key_prefix: ClassVar[str] = "job_title:"

    type: Literal["JobTitleChanged"] = "JobTitleChanged"
    schema_version: int = 1

    job_title_id: str = Field(min_length=1, description="The job title's id in the source's list.")
    name: str = Field(min_length=1, description="Its current name; employees refer to it by this.")
    previous_name: str | None = Field(
        default=None, description="The name before a rename, when known."
    )
    active: bool = Field(description="False when the source archived it.")
