"""The employee fields the sandbox knows: alias, numeric id, display name, type, list field.

Only the fields the people flows use and a few neighbours (sheet section 4). Field ids are
the ones BambooHR's own `/meta/fields` answers carry where the recordings show them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FIELDS", "FIELDS_BY_ID", "JOB_INFO_FIELDS", "LIST_FIELDS", "READ_ONLY", "Field"]


@dataclass(frozen=True)
class Field:
    alias: str
    field_id: int
    name: str
    type: str


FIELDS: dict[str, Field] = {
    field.alias: field
    for field in (
        Field("employeeNumber", 1010, "Employee #", "employee_number"),
        Field("firstName", 1, "First Name", "text"),
        Field("lastName", 2, "Last Name", "text"),
        Field("middleName", 3, "Middle Name", "text"),
        Field("preferredName", 1358, "Preferred Name", "text"),
        Field("displayName", 4040, "Display Name", "text"),
        Field("workEmail", 15, "Work Email", "email"),
        Field("homeEmail", 1011, "Home Email", "email"),
        Field("bestEmail", 4041, "Best Email", "email"),
        Field("workPhone", 1012, "Work Phone", "phone"),
        Field("mobilePhone", 13, "Mobile Phone", "phone"),
        Field("jobTitle", 17, "Job Title", "list"),
        Field("department", 4, "Department", "list"),
        Field("division", 1355, "Division", "list"),
        Field("location", 18, "Location", "list"),
        Field("status", 1000, "Status", "status"),
        Field("employmentHistoryStatus", 16, "Employment Status", "list"),
        Field("hireDate", 1001, "Hire Date", "date"),
        Field("originalHireDate", 1002, "Original Hire Date", "date"),
        Field("terminationDate", 1003, "Termination Date", "date"),
        Field("dateOfBirth", 6, "Birth Date", "date"),
        Field("supervisorEId", 1004, "Supervisor EID", "int"),
        Field("reportsTo", 1005, "Reporting to", "employee"),
        Field("lastChanged", 1006, "Last Changed", "timestamp"),
        Field("payRate", 19, "Pay rate", "currency"),
    )
}

FIELDS_BY_ID: dict[str, str] = {str(field.field_id): alias for alias, field in FIELDS.items()}

LIST_FIELDS = ("department", "division", "jobTitle", "location", "employmentHistoryStatus")
"""List fields whose options `/meta/lists` serves (values must be one of the options)."""

JOB_INFO_FIELDS = ("location", "division", "department", "jobTitle", "reportsTo")
"""Fields that live in the jobInfo table: writing them adds a jobInfo row."""

READ_ONLY = frozenset(
    {"id", "displayName", "bestEmail", "lastChanged", "status", "employmentHistoryStatus"}
)
"""Not writable through `POST /employees/{id}` (employment status: use the table)."""
