"""BambooHR records -> canonical people events. Pure functions: no I/O, plain values in and out.

Facts (``shared/vendors/bamboohr.md``): values are strings or null, dates ``YYYY-MM-DD``
and older accounts send ``0000-00-00`` for "no date" (section 3, [I]); ``status`` is only
``Active``/``Inactive`` while ``employmentHistoryStatus`` carries the account's own labels,
one of which means the person left (section 4); webhooks name changed fields by API alias
(section 11); departments, divisions and job titles are options of ``/meta/lists``
(section 10).

What BambooHR receives: only list changes (the one place the product writes to BambooHR,
``services/bamboohr/sinks/option_lists.py``), each one ``PUT /meta/lists/{fieldId}`` with
``{"options": [...]}`` (SPEC ``ListFieldValues``): a new option is ``{"value": name}``, an
archive ``{"id": id, "archived": "yes"}``, a restore ``{"id": id, "archived": "no"}``
(:func:`option_added`, :func:`option_archived`, :func:`option_restored`). Which option, if
any, is decided by the runtime's alignment rules (``services/runtime/option_lists.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson
from pydantic import ValidationError

from schemas.people import (
    DepartmentChanged,
    EmployeeChanged,
    EmployeeStatus,
    JobTitleChanged,
    OrgUnitKind,
)
from services.bamboohr.models import Employee, ListField, WebhookEvent
from services.runtime.option_lists import ListKind, ListOption, name_key
from services.runtime.snapshots import snapshot_payload

__all__ = [
    "EMPLOYEE_FIELDS",
    "LIST_ALIASES",
    "VOLATILE_FIELDS",
    "MalformedDeliveryError",
    "NamedEmployee",
    "UnmappableEmployeeError",
    "canonical_changed_fields",
    "department_events",
    "employee_changed",
    "employees_named",
    "job_title_events",
    "known_names",
    "list_events",
    "list_options",
    "list_values",
    "option_added",
    "option_archived",
    "option_restored",
    "parse_bamboo_time",
    "record_payload",
    "status_of",
    "webhook_events",
]

# Every alias the source asks for, by name: without ``fields`` BambooHR answers only the id.
EMPLOYEE_FIELDS: Final = (
    "firstName",
    "lastName",
    "preferredName",
    "workEmail",
    "jobTitle",
    "department",
    "division",
    "location",
    "status",
    "employmentHistoryStatus",
    "hireDate",
    "terminationDate",
    "supervisorEId",
    "lastChanged",
)

# BambooHR alias -> the EmployeeChanged fields it feeds.
_ALIAS_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "firstName": ("first_name",),
    "lastName": ("last_name",),
    "preferredName": ("preferred_name",),
    "workEmail": ("work_email",),
    "jobTitle": ("job_title",),
    "department": ("department",),
    "division": ("division",),
    "location": ("location",),
    "status": ("status",),
    "employmentHistoryStatus": ("employment_status", "status"),
    "hireDate": ("hire_date",),
    "terminationDate": ("termination_date", "status"),
    "supervisorEId": ("supervisor_id",),
    "reportsTo": ("supervisor_id",),
}

_ORG_UNIT_ALIASES: Final[Mapping[str, OrgUnitKind]] = {
    "department": "department",
    "division": "division",
}
_JOB_TITLE_ALIAS: Final = "jobTitle"

LIST_ALIASES: Final[Mapping[ListKind, str]] = {
    "department": "department",
    "division": "division",
    "job_title": _JOB_TITLE_ALIAS,
}
"""Canonical list kind -> the ``/meta/lists`` field alias (section 10) and employee field."""

# Fields of an EmployeeChanged that say how it was found, not what the record is: left
# out of "did it change?" (services/runtime/snapshots.py leaves envelope and revision out).
VOLATILE_FIELDS: Final = frozenset({"changed_fields"})


class UnmappableEmployeeError(ValueError):
    """BambooHR's answer lacks what an EmployeeChanged needs (names hidden from our user)."""


class MalformedDeliveryError(ValueError):
    """A webhook body that is not one of BambooHR's delivery shapes."""


def _text(value: str | None) -> str | None:
    stripped = (value or "").strip()
    return stripped or None


def _date(value: str | None) -> date | None:
    text = _text(value)
    if text is None or text.startswith("0000-00-00"):
        return None
    return date.fromisoformat(text[:10])


def parse_bamboo_time(value: str | None) -> datetime | None:
    """A BambooHR timestamp (``lastChanged``, webhook ``timestamp``) as an aware datetime.

    Seen as ``...Z``, ``...+00:00`` and ``...+0000``; None when absent, naive or unreadable.
    """
    text = _text(value)
    if text is None:
        return None
    if text.isdigit():  # epoch seconds, as the webhook timestamp header is sent
        return datetime.fromtimestamp(int(text), tz=UTC)
    normalised = text.replace("Z", "+00:00").replace(" ", "T")
    if len(normalised) >= 5 and normalised[-5] in "+-" and normalised[-4:].isdigit():
        normalised = f"{normalised[:-2]}:{normalised[-2:]}"
    try:
        parsed = datetime.fromisoformat(normalised)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def status_of(employee: Employee, terminated_statuses: Iterable[str]) -> EmployeeStatus:
    """terminated when the employment status says the person left, else Active/Inactive."""
    left = {label.casefold() for label in terminated_statuses}
    history = (_text(employee.employmentHistoryStatus) or "").casefold()
    if history in left:
        return "terminated"
    if (_text(employee.status) or "").casefold() == "inactive":
        return "inactive"
    return "active"


def canonical_changed_fields(aliases: Iterable[str]) -> tuple[str, ...]:
    """BambooHR aliases -> EmployeeChanged field names; aliases we do not carry are dropped."""
    named = {field for alias in aliases for field in _ALIAS_FIELDS.get(alias, ())}
    return tuple(sorted(named))


def employee_changed(
    employee: Employee,
    *,
    connection_id: str,
    tenant_id: str,
    occurred_at: datetime,
    source_updated_at: datetime,
    changed_fields: Sequence[str] = (),
    terminated_statuses: Iterable[str] = ("Terminated",),
) -> EmployeeChanged:
    """The full snapshot of one employee as BambooHR now has it."""
    first_name = _text(employee.firstName)
    last_name = _text(employee.lastName)
    if first_name is None or last_name is None:
        msg = f"employee {employee.id} came back without first and last name"
        raise UnmappableEmployeeError(msg)
    try:
        return EmployeeChanged(
            connection_id=connection_id,
            tenant_id=tenant_id,
            occurred_at=occurred_at,
            source_updated_at=source_updated_at,
            employee_id=employee.id,
            status=status_of(employee, terminated_statuses),
            first_name=first_name,
            last_name=last_name,
            preferred_name=_text(employee.preferredName),
            work_email=_text(employee.workEmail),
            department=_text(employee.department),
            division=_text(employee.division),
            job_title=_text(employee.jobTitle),
            location=_text(employee.location),
            employment_status=_text(employee.employmentHistoryStatus),
            hire_date=_date(employee.hireDate),
            termination_date=_date(employee.terminationDate),
            supervisor_id=_text(employee.supervisorEId),
            changed_fields=tuple(changed_fields),
        )
    except ValueError as error:  # a date BambooHR wrote in a shape we do not read
        msg = f"employee {employee.id} cannot be mapped: {error}"
        raise UnmappableEmployeeError(msg) from error


def record_payload(
    event: EmployeeChanged | DepartmentChanged | JobTitleChanged,
) -> dict[str, Any]:
    """What a record is, without envelope or revision: the basis of "did it change?"."""
    return snapshot_payload(event, volatile=VOLATILE_FIELDS)


def _archived(option_archived: str) -> bool:
    return option_archived.strip().lower() == "yes"


def department_events(
    lists: Iterable[ListField], *, connection_id: str, tenant_id: str, read_at: datetime
) -> list[DepartmentChanged]:
    """One DepartmentChanged per department and division option, archived ones inactive.

    The lists carry no per-option change time, so the revision is when we read them:
    a later read never shows an older list.
    """
    events = []
    for field in lists:
        kind = _ORG_UNIT_ALIASES.get(field.alias or "")
        if kind is None:
            continue
        for option in field.options:
            name = _text(option.name)
            if name is None:
                continue
            events.append(
                DepartmentChanged(
                    connection_id=connection_id,
                    tenant_id=tenant_id,
                    occurred_at=read_at,
                    source_updated_at=read_at,
                    kind=kind,
                    unit_id=option.id,
                    name=name,
                    active=not _archived(option.archived),
                )
            )
    return events


def job_title_events(
    lists: Iterable[ListField], *, connection_id: str, tenant_id: str, read_at: datetime
) -> list[JobTitleChanged]:
    """One JobTitleChanged per option of the ``jobTitle`` list, archived ones inactive.

    Revisions as in :func:`department_events`: the time of the read.
    """
    return [
        JobTitleChanged(
            connection_id=connection_id,
            tenant_id=tenant_id,
            occurred_at=read_at,
            source_updated_at=read_at,
            job_title_id=option.id,
            name=name,
            active=not _archived(option.archived),
        )
        for field in lists
        if field.alias == _JOB_TITLE_ALIAS
        for option in field.options
        if (name := _text(option.name)) is not None
    ]


def list_events(
    lists: Sequence[ListField], *, connection_id: str, tenant_id: str, read_at: datetime
) -> list[DepartmentChanged | JobTitleChanged]:
    """Every option of the department, division and job-title lists, in that order."""
    found: list[DepartmentChanged | JobTitleChanged] = []
    found.extend(
        department_events(lists, connection_id=connection_id, tenant_id=tenant_id, read_at=read_at)
    )
    found.extend(
        job_title_events(lists, connection_id=connection_id, tenant_id=tenant_id, read_at=read_at)
    )
    return found


def list_values(employee: Employee, changed_aliases: Iterable[str] = ()) -> dict[ListKind, str]:
    """The employee's values of the list fields a webhook named (all three when it named none).

    A delivery's ``changedFields`` are aliases (section 11); created and legacy deliveries
    name none, so every list field counts then.
    """
    named = set(changed_aliases)
    values = {
        "department": employee.department,
        "division": employee.division,
        "job_title": employee.jobTitle,
    }
    chosen: dict[ListKind, str] = {}
    for kind, alias in LIST_ALIASES.items():
        value = _text(values[kind])
        if value is not None and (not named or alias in named):
            chosen[kind] = value
    return chosen


def list_options(field: ListField) -> list[ListOption]:
    """A ``/meta/lists`` field's options as the runtime's alignment reads them."""
    return [
        ListOption(id=option.id, name=option.name, active=not _archived(option.archived))
        for option in field.options
    ]


def _option_id(option_id: str) -> int | str:
    # SPEC types the id as an integer; BambooHR's ids are digit strings when read.
    return int(option_id) if option_id.isdigit() else option_id


def option_added(name: str) -> dict[str, Any]:
    """The PUT body that adds one active option: no ``id`` means "create" (SPEC)."""
    return {"options": [{"value": name.strip()}]}


def option_archived(option_id: str) -> dict[str, Any]:
    """The PUT body that archives one option, kept for history (SPEC ``archived: yes``)."""
    return {"options": [{"id": _option_id(option_id), "archived": "yes"}]}


def option_restored(option_id: str) -> dict[str, Any]:
    """The PUT body that makes an archived option active again (``archived: no``)."""
    return {"options": [{"id": _option_id(option_id), "archived": "no"}]}


def known_names(events: Iterable[DepartmentChanged | JobTitleChanged]) -> dict[ListKind, list[str]]:
    """The name keys of every option read, per list kind (archived ones included)."""
    names: dict[ListKind, set[str]] = {kind: set() for kind in LIST_ALIASES}
    for event in events:
        kind: ListKind = "job_title" if isinstance(event, JobTitleChanged) else event.kind
        names[kind].add(name_key(event.name))
    return {kind: sorted(keys) for kind, keys in names.items()}


def _form_events(body: str) -> list[dict[str, Any]]:
    """``type=...&data[employeeId]=...&data[changedFields][0]=...`` as the JSON shape."""
    fields = parse_qsl(body, keep_blank_values=True)
    data: dict[str, Any] = {"changedFields": []}
    event: dict[str, Any] = {"data": data}
    for name, value in fields:
        if name in ("type", "timestamp"):
            event[name] = value
        elif name.startswith("data[changedFields]"):
            data["changedFields"].append(value)
        elif name.startswith("data[") and name.endswith("]"):
            data[name[5:-1]] = value
    return [event]


def _legacy_events(employees: list[Any]) -> list[dict[str, Any]]:
    """Field-based deliveries: several employees, display-name fields (ignored: we re-read)."""
    kinds = {
        "inserted": "employee.created",
        "created": "employee.created",
        "deleted": "employee.deleted",
    }
    return [
        {
            "type": kinds.get(str(entry.get("action", "")).lower(), "employee.updated"),
            "timestamp": entry.get("timestamp"),
            "data": {"employeeId": entry.get("id")},
        }
        for entry in employees
        if isinstance(entry, dict)
    ]


def webhook_events(content_type: str, body: str) -> list[WebhookEvent]:
    """The employee events of one delivery, whichever of BambooHR's shapes it came in."""
    raw: list[dict[str, Any]]
    if content_type.startswith("application/x-www-form-urlencoded"):
        raw = _form_events(body)
    else:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise MalformedDeliveryError("the delivery body is not JSON") from error
        if isinstance(parsed, dict) and isinstance(parsed.get("employees"), list):
            raw = _legacy_events(parsed["employees"])
        elif isinstance(parsed, dict):
            raw = [parsed]
        else:
            raise MalformedDeliveryError("the delivery body is not a JSON object")
    try:
        return [WebhookEvent.model_validate(item) for item in raw]
    except ValidationError as error:
        msg = f"not a BambooHR employee event: {error.errors()[0]['msg']}"
        raise MalformedDeliveryError(msg) from error


@dataclass(frozen=True, slots=True)
class NamedEmployee:
    """One employee a delivery names, all of the delivery's events about them folded into one."""

    employee_id: str
    # Every event about them was employee.deleted: there is nothing to read back.
    deleted_only: bool
    # BambooHR aliases any of the events named, in the order first named.
    changed_aliases: tuple[str, ...]
    # The latest event timestamp, when any event had one we read.
    happened: datetime | None


def employees_named(events: Iterable[WebhookEvent]) -> list[NamedEmployee]:
    """Each employee of a delivery once, in the order first named.

    A delivery may name one person many times (field-based deliveries list several
    employees, and nothing stops them repeating one); one read answers them all, since the
    read returns the record as it is now, whatever each event said.
    """
    folded: dict[str, NamedEmployee] = {}
    for event in events:
        employee_id = event.data.employeeId
        deleted = event.type == "employee.deleted"
        happened = parse_bamboo_time(event.timestamp)
        seen = folded.get(employee_id)
        if seen is None:
            folded[employee_id] = NamedEmployee(
                employee_id=employee_id,
                deleted_only=deleted,
                changed_aliases=tuple(dict.fromkeys(event.data.changedFields)),
                happened=happened,
            )
            continue
        folded[employee_id] = NamedEmployee(
            employee_id=employee_id,
            deleted_only=seen.deleted_only and deleted,
            changed_aliases=tuple(
                dict.fromkeys((*seen.changed_aliases, *event.data.changedFields))
            ),
            happened=max((t for t in (seen.happened, happened) if t is not None), default=None),
        )
    return list(folded.values())
