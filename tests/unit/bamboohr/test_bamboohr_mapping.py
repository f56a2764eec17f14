"""BambooHR records -> EmployeeChanged / DepartmentChanged / JobTitleChanged, and the list
writes BambooHR receives, with plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from schemas.people import EmployeeChanged
from services.bamboohr.mapping import (
    MalformedDeliveryError,
    UnmappableEmployeeError,
    canonical_changed_fields,
    department_events,
    employee_changed,
    employees_named,
    job_title_events,
    known_names,
    list_events,
    list_options,
    list_values,
    option_added,
    option_archived,
    option_restored,
    parse_bamboo_time,
    record_payload,
    status_of,
    webhook_events,
)
from services.bamboohr.models import Employee, ListField, WebhookEvent
from services.runtime.option_lists import ListOption
from services.runtime.snapshots import differing_fields

NOW = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def _ava(**changes: str | None) -> Employee:
    values: dict[str, str | None] = {
        "id": "123",
        "firstName": "Ava",
        "lastName": "Nguyen",
        "workEmail": "ava@acme.example",
        "jobTitle": "Engineering Manager",
        "department": "Engineering",
        "division": "Product",
        "status": "Active",
        "employmentHistoryStatus": "Full-Time",
        "hireDate": "2021-03-15",
        "terminationDate": None,
        "lastChanged": "2026-01-31T18:42:00+00:00",
        "supervisorEId": "7",
        **changes,
    }
    return Employee.model_validate(values)


def _map(employee: Employee) -> EmployeeChanged:
    return employee_changed(
        employee,
        connection_id="conn-1",
        tenant_id="default",
        occurred_at=NOW,
        source_updated_at=NOW,
    )


def test_a_full_employee_maps_every_field() -> None:
    event = employee_changed(
        _ava(preferredName="Avi", location="Remote"),
        connection_id="conn-1",
        tenant_id="default",
        occurred_at=NOW,
        source_updated_at=parse_bamboo_time("2026-01-31T18:42:00+00:00") or NOW,
        changed_fields=canonical_changed_fields(["department", "firstName", "payRate"]),
    )
    assert event.key == "conn-1:123"
    assert (event.first_name, event.last_name, event.preferred_name) == ("Ava", "Nguyen", "Avi")
    assert event.work_email == "ava@acme.example"
    assert (event.department, event.division, event.job_title) == (
        "Engineering",
        "Product",
        "Engineering Manager",
    )
    assert event.location == "Remote"
    assert event.status == "active"
    assert event.employment_status == "Full-Time"
    assert event.hire_date == date(2021, 3, 15)
    assert event.termination_date is None
    assert event.supervisor_id == "7"
    assert event.source_updated_at == datetime(2026, 1, 31, 18, 42, tzinfo=UTC)
    # payRate is not a field we carry: dropped, not an error.
    assert event.changed_fields == ("department", "first_name")


@pytest.mark.parametrize(
    ("status", "history", "expected"),
    [
        ("Active", "Full-Time", "active"),
        ("Inactive", "Full-Time", "inactive"),
        ("Inactive", "Terminated", "terminated"),
        ("Active", "terminated", "terminated"),  # the label is matched case-insensitively
        (None, None, "active"),
    ],
)
def test_status_follows_employment_history_then_the_active_flag(
    status: str | None, history: str | None, expected: str
) -> None:
    employee = _ava(status=status, employmentHistoryStatus=history)
    assert status_of(employee, ("Terminated",)) == expected


def test_the_terminated_labels_are_a_setting() -> None:
    employee = _ava(employmentHistoryStatus="Left the company")
    assert status_of(employee, ("Terminated",)) == "active"
    assert status_of(employee, ("Terminated", "Left the company")) == "terminated"


def test_a_terminated_employee_carries_the_termination_date() -> None:
    event = _map(
        _ava(status="Inactive", employmentHistoryStatus="Terminated", terminationDate="2025-03-28")
    )
    assert event.status == "terminated"
    assert event.termination_date == date(2025, 3, 28)


def test_empty_values_and_zero_dates_are_none() -> None:
    event = _map(_ava(workEmail="  ", hireDate="0000-00-00", department=""))
    assert event.work_email is None
    assert event.hire_date is None
    assert event.department is None


def test_an_employee_without_names_cannot_be_mapped() -> None:
    with pytest.raises(UnmappableEmployeeError, match="123"):
        _map(_ava(lastName=None))


def test_a_date_in_an_unknown_shape_is_an_unmappable_employee_not_a_crash() -> None:
    with pytest.raises(UnmappableEmployeeError):
        _map(_ava(hireDate="15/03/2021"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-02T09:15:00+00:00", datetime(2026, 2, 2, 9, 15, tzinfo=UTC)),
        ("2026-02-02T09:15:00Z", datetime(2026, 2, 2, 9, 15, tzinfo=UTC)),
        ("2026-02-02T09:15:00+0000", datetime(2026, 2, 2, 9, 15, tzinfo=UTC)),
        ("1770023700", datetime(2026, 2, 2, 9, 15, tzinfo=UTC)),
        ("2026-02-02T09:15:00", None),  # no zone: not a time we can order by
        ("yesterday", None),
        (None, None),
    ],
)
def test_bamboohr_times_in_every_shape_seen(text: str | None, expected: datetime | None) -> None:
    assert parse_bamboo_time(text) == expected


def test_changed_fields_name_our_fields() -> None:
    assert canonical_changed_fields(["employmentHistoryStatus", "jobTitle"]) == (
        "employment_status",
        "job_title",
        "status",
    )


def test_the_payload_leaves_out_envelope_and_revision_so_a_re_read_compares_equal() -> None:
    first = _map(_ava())
    later = employee_changed(
        _ava(),
        connection_id="conn-1",
        tenant_id="default",
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        source_updated_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    moved = _map(_ava(department="Creative"))
    assert record_payload(first) == record_payload(later)
    assert differing_fields(record_payload(first), record_payload(moved)) == ("department",)


def _lists() -> list[ListField]:
    return [
        ListField.model_validate(
            {
                "fieldId": 4,
                "alias": "department",
                "name": "Department",
                "options": [
                    {"id": 401, "name": "Creative", "archived": "no"},
                    {"id": 402, "name": "Print", "archived": "yes"},
                ],
            }
        ),
        ListField.model_validate(
            {
                "fieldId": 1355,
                "alias": "division",
                "name": "Division",
                "options": [{"id": 135501, "name": "Europe", "archived": "no"}],
            }
        ),
        ListField.model_validate(
            {
                "fieldId": 17,
                "alias": "jobTitle",
                "name": "Job Title",
                "manageable": "yes",
                "options": [
                    {"id": 1701, "name": " Designer ", "archived": "no"},
                    {"id": 1702, "name": "Typesetter", "archived": "yes"},
                    {"id": 1703, "name": "  ", "archived": "no"},
                ],
            }
        ),
        ListField.model_validate(
            {
                "fieldId": 18,
                "alias": "location",
                "name": "Location",
                "options": [{"id": 1801, "name": "Remote", "archived": "no"}],
            }
        ),
    ]


def test_departments_and_divisions_come_from_their_lists_and_archived_ones_are_inactive() -> None:
    events = department_events(_lists(), connection_id="conn-1", tenant_id="default", read_at=NOW)
    assert [(e.kind, e.unit_id, e.name, e.active) for e in events] == [
        ("department", "401", "Creative", True),
        ("department", "402", "Print", False),
        ("division", "135501", "Europe", True),
    ]
    assert events[0].key == "conn-1:department:401"


def test_job_titles_come_from_the_job_title_list_trimmed_and_archived_ones_inactive() -> None:
    events = job_title_events(_lists(), connection_id="conn-1", tenant_id="default", read_at=NOW)
    assert [(e.job_title_id, e.name, e.active) for e in events] == [
        ("1701", "Designer", True),
        ("1702", "Typesetter", False),
    ]
    assert events[0].key == "conn-1:job_title:1701"
    assert events[0].source_updated_at == NOW


def test_every_list_the_alignment_carries_is_read_departments_first() -> None:
    events = list_events(_lists(), connection_id="conn-1", tenant_id="default", read_at=NOW)
    assert [e.type for e in events] == ["DepartmentChanged"] * 3 + ["JobTitleChanged"] * 2
    assert known_names(events) == {
        "department": ["creative", "print"],
        "division": ["europe"],
        "job_title": ["designer", "typesetter"],
    }


def test_a_list_fields_options_as_the_alignment_reads_them() -> None:
    titles = _lists()[2]
    assert list_options(titles) == [
        ListOption("1701", " Designer ", active=True),
        ListOption("1702", "Typesetter", active=False),
        ListOption("1703", "  ", active=True),
    ]


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ((), {"department": "Creative", "division": "Europe", "job_title": "Designer"}),
        (("jobTitle",), {"job_title": "Designer"}),
        (("department", "firstName"), {"department": "Creative"}),
        (("firstName",), {}),
    ],
)
def test_the_list_values_a_delivery_names(changed: tuple[str, ...], expected: object) -> None:
    employee = _ava(department="Creative", division="Europe", jobTitle="Designer")
    assert list_values(employee, changed) == expected


def test_an_unset_list_value_is_not_a_value() -> None:
    assert list_values(_ava(department=" ", division=None, jobTitle="")) == {}


def test_what_bamboohr_receives_to_add_archive_and_restore_an_option() -> None:
    assert option_added("  Cost Centre 9 ") == {"options": [{"value": "Cost Centre 9"}]}
    assert option_archived("1701") == {"options": [{"id": 1701, "archived": "yes"}]}
    assert option_restored("1701") == {"options": [{"id": 1701, "archived": "no"}]}


def test_an_event_based_json_delivery() -> None:
    body = (
        '{"type":"employee.updated","timestamp":"2026-02-02T09:15:00Z",'
        '"data":{"companyId":"12345","employeeId":"100","changedFields":["firstName"]}}'
    )
    [event] = webhook_events("application/json", body)
    assert (event.type, event.data.employeeId, event.data.changedFields) == (
        "employee.updated",
        "100",
        ["firstName"],
    )


def test_a_form_encoded_delivery() -> None:
    body = (
        "type=employee.updated&data%5BcompanyId%5D=12345&data%5BemployeeId%5D=100"
        "&data%5BchangedFields%5D%5B0%5D=firstName&data%5BchangedFields%5D%5B1%5D=department"
    )
    [event] = webhook_events("application/x-www-form-urlencoded", body)
    assert event.data.employeeId == "100"
    assert event.data.changedFields == ["firstName", "department"]


def test_a_legacy_field_based_delivery_names_several_employees() -> None:
    body = (
        '{"employees":[{"id":"5","action":"Updated","changedFields":["First name"]},'
        '{"id":"6","action":"Deleted"}]}'
    )
    events = webhook_events("application/json", body)
    assert [(e.type, e.data.employeeId) for e in events] == [
        ("employee.updated", "5"),
        ("employee.deleted", "6"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        '{"type": "employee.updated"}',
        '{"type": "company.updated", "data": {}}',
        '{"type": "employee.updated", "data": {"employeeId": "../webhooks"}}',
    ],
)
def test_a_body_that_is_no_employee_event_is_malformed(body: str) -> None:
    with pytest.raises(MalformedDeliveryError):
        webhook_events("application/json", body)


def _hook(
    kind: str, employee_id: str, at: str | None, changed: tuple[str, ...] = ()
) -> WebhookEvent:
    data = {"employeeId": employee_id, "changedFields": list(changed)}
    return WebhookEvent.model_validate({"type": kind, "timestamp": at, "data": data})


def test_a_delivery_names_each_employee_once_in_the_order_first_named() -> None:
    events = [
        _hook("employee.updated", "7", "2026-02-02T09:00:00Z", ("firstName",)),
        _hook("employee.deleted", "8", "2026-02-02T09:01:00Z"),
        *(_hook("employee.updated", "7", None, ("department",)) for _ in range(1_500)),
        _hook("employee.updated", "9", None),
        _hook("employee.updated", "7", "2026-02-02T09:05:00Z", ("firstName",)),
        _hook("employee.deleted", "8", "2026-02-02T08:00:00Z"),
    ]

    named = employees_named(events)

    assert [n.employee_id for n in named] == ["7", "8", "9"]
    seven, eight, nine = named
    assert seven.changed_aliases == ("firstName", "department")
    assert seven.happened == datetime(2026, 2, 2, 9, 5, tzinfo=UTC)
    assert not seven.deleted_only
    assert eight.deleted_only
    assert eight.happened == datetime(2026, 2, 2, 9, 1, tzinfo=UTC)
    assert (nine.happened, nine.changed_aliases) == (None, ())


def test_an_employee_deleted_and_also_updated_in_one_delivery_is_read_back() -> None:
    # Which came last is not for the delivery to say: the read finds them or answers 404.
    events = [
        _hook("employee.deleted", "7", "2026-02-02T09:00:00Z"),
        _hook("employee.created", "7", "2026-02-02T09:01:00Z"),
    ]
    [seven] = employees_named(events)
    assert not seven.deleted_only
