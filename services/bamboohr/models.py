"""BambooHR's payloads as we read them: only the fields we use, named as BambooHR names them.

Fact sheet sections 3-5, 7, 9-11. BambooHR sends every value as a string (or null); ids
are digit strings, but a few answers (``/meta/lists`` in recordings) send integers, so ids
are coerced to text here and nowhere else.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

__all__ = [
    "ChangedEmployee",
    "ChangedEmployees",
    "Employee",
    "EmployeeReport",
    "ListField",
    "ListOption",
    "WebhookEvent",
    "WebhookEventData",
]


def _as_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Id = Annotated[str, BeforeValidator(_as_text)]
# Employee ids are digit strings; an id goes into a URL path, so nothing else is let through.
# "0" is BambooHR's alias for whoever owns the credentials, never a person a record names.
EmployeeId = Annotated[
    str, BeforeValidator(_as_text), StringConstraints(pattern=r"^[1-9][0-9]{0,19}$")
]


class _Vendor(BaseModel):
    # BambooHR adds fields freely; we read the ones we name and ignore the rest.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Employee(_Vendor):
    """One employee from ``GET /employees/{id}?fields=...`` or a custom report row."""

    id: EmployeeId
    firstName: str | None = None  # noqa: N815 - BambooHR's alias
    lastName: str | None = None  # noqa: N815
    preferredName: str | None = None  # noqa: N815
    workEmail: str | None = None  # noqa: N815
    jobTitle: str | None = None  # noqa: N815
    department: str | None = None
    division: str | None = None
    location: str | None = None
    status: str | None = None
    employmentHistoryStatus: str | None = None  # noqa: N815
    hireDate: str | None = None  # noqa: N815
    terminationDate: str | None = None  # noqa: N815
    supervisorEId: Annotated[str | None, BeforeValidator(_as_text)] = None  # noqa: N815
    lastChanged: str | None = None  # noqa: N815


class EmployeeReport(_Vendor):
    """The answer of ``POST /reports/custom?format=JSON`` (section 9)."""

    employees: list[Employee] = Field(default_factory=list)


class ChangedEmployee(_Vendor):
    id: EmployeeId
    action: Literal["Inserted", "Updated", "Deleted"]
    lastChanged: str  # noqa: N815


class ChangedEmployees(_Vendor):
    """The answer of ``GET /employees/changed?since=...`` (section 7): a map keyed by id."""

    latest: str | None = None
    employees: dict[str, ChangedEmployee] = Field(default_factory=dict)


class ListOption(_Vendor):
    id: Id
    name: str
    archived: str = "no"


class ListField(_Vendor):
    """One entry of ``GET /meta/lists`` (section 10)."""

    fieldId: Id  # noqa: N815
    alias: str | None = None
    name: str
    # "yes": its options may be changed with PUT /meta/lists/{fieldId} (SPEC list-list-fields).
    manageable: str = "yes"
    options: list[ListOption] = Field(default_factory=list)


class WebhookEventData(_Vendor):
    employeeId: EmployeeId  # noqa: N815
    companyId: Id | None = None  # noqa: N815
    changedFields: list[str] = Field(default_factory=list)  # noqa: N815


class WebhookEvent(_Vendor):
    """An event-based delivery (section 11): ids and changed aliases, never values."""

    type: Literal["employee.created", "employee.updated", "employee.deleted"]
    timestamp: str | None = None
    data: WebhookEventData
