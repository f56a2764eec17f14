"""The pure people and department mapping of the FreshBooks sink."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.people import EmployeeChanged
from services.freshbooks.mapping import (
    MappingError,
    callback_event,
    hire,
    invitation_body,
    person_email,
    staff_changes,
    staff_fields,
    staff_puts,
    with_department,
)
from services.freshbooks.models import Staff
from services.runtime.upsert import parse_revision, revision_text

TEMPLATE = "[Department: {department}]"


def employee(**changes: Any) -> EmployeeChanged:
    values: dict[str, Any] = {
        "connection_id": "bamboo-1",
        "occurred_at": datetime(2026, 3, 1, tzinfo=UTC),
        "source_updated_at": datetime(2026, 3, 1, tzinfo=UTC),
        "employee_id": "42",
        "status": "active",
        "first_name": "Maya",
        "last_name": "Lopez",
        "work_email": "Maya.Lopez@Acme.example",
        "department": "Engineering",
        "job_title": "Engineer",
    }
    values.update(changes)
    return EmployeeChanged(**values)


def test_the_work_email_is_the_natural_key_lower_cased() -> None:
    assert person_email(employee()) == "maya.lopez@acme.example"


def test_an_employee_without_work_email_needs_review() -> None:
    with pytest.raises(MappingError, match="no work email"):
        person_email(employee(work_email=None))


def test_staff_fields_use_the_preferred_name() -> None:
    fields = staff_fields(employee(preferred_name="Mo"))
    assert fields == {"fname": "Mo", "lname": "Lopez", "email": "maya.lopez@acme.example"}


def test_staff_changes_name_only_what_differs_and_ignore_email_case() -> None:
    current = Staff(id=3, fname="Maya", lname="Lopes", email="MAYA.LOPEZ@acme.example")
    assert staff_changes(current, staff_fields(employee())) == {"lname": "Lopez"}


def test_invitation_body_addresses_the_business_by_numeric_id() -> None:
    body = invitation_body(employee(), business_id="77001", capacity="employee")
    assert body["invitable_id"] == 77001
    assert body["invitable_type"] == "business"
    assert body["to_email"] == "maya.lopez@acme.example"
    assert body["capacity"] == "employee"


def test_a_hire_is_an_invitation_a_staff_create_or_nothing_per_setting() -> None:
    invited = hire(employee(), person_create="invitation", business_id="77001", capacity="employee")
    created = hire(employee(), person_create="staff", business_id="77001", capacity="employee")

    assert invited is not None
    assert invited.operation == "invite_team_member"
    assert invited.body["to_email"] == "maya.lopez@acme.example"
    assert created is not None
    assert created.operation == "create_staff"
    assert created.body == {"fname": "Maya", "lname": "Lopez", "email": "maya.lopez@acme.example"}
    assert hire(employee(), person_create="none", business_id="1", capacity="employee") is None


def test_a_change_is_one_put_of_the_fields_that_differ() -> None:
    current = Staff(id=5, fname="Maya", lname="Old", email="maya.lopez@acme.example")

    [put] = staff_puts(current, employee())
    assert (put.operation, dict(put.fields)) == ("update_staff", {"lname": "Lopez"})


def test_a_termination_soft_deletes_in_a_put_of_its_own_after_the_fields() -> None:
    current = Staff(id=5, fname="Maya", lname="Old", email="maya.lopez@acme.example")

    puts = staff_puts(current, employee(status="terminated"))
    assert [(p.operation, dict(p.fields)) for p in puts] == [
        ("update_staff", {"lname": "Lopez"}),
        ("soft_delete_staff", {"vis_state": 1}),
    ]


def test_a_deleted_staff_record_restored_gets_its_fields_after_the_restore() -> None:
    current = Staff(id=5, fname="Maya", lname="Old", email="maya.lopez@acme.example", vis_state=1)

    puts = staff_puts(current, employee())
    assert [p.operation for p in puts] == ["restore_staff", "update_staff"]
    assert (
        staff_puts(
            Staff(id=5, fname="Maya", lname="Lopez", email="maya.lopez@acme.example"), employee()
        )
        == []
    )


def test_revisions_round_trip_through_text() -> None:
    revision = employee().revision
    assert parse_revision(revision_text(revision)) == revision
    assert parse_revision(None) is None
    assert parse_revision("garbage") is None


def test_department_marker_is_appended_to_the_persons_own_notes() -> None:
    assert with_department("Taxi to client", "Engineering", TEMPLATE) == (
        "Taxi to client\n[Department: Engineering]"
    )
    assert with_department(None, "Engineering", TEMPLATE) == "[Department: Engineering]"


def test_notes_already_carrying_the_department_are_left_exactly_as_they_are() -> None:
    notes = "Taxi\n[Department: Engineering]"
    assert with_department(notes, "Engineering", TEMPLATE) == notes


def test_a_department_change_replaces_the_old_marker_and_keeps_the_text() -> None:
    notes = "Taxi\n[Department: Sales]"
    assert with_department(notes, "Engineering", TEMPLATE) == "Taxi\n[Department: Engineering]"


def test_no_department_removes_the_marker() -> None:
    assert with_department("Taxi\n[Department: Sales]", None, TEMPLATE) == "Taxi"


def test_the_marker_template_is_a_setting() -> None:
    assert with_department("x", "Ops", "dept={department};") == "x\ndept=Ops;"
    with pytest.raises(ValueError, match="must contain"):
        with_department("x", "Ops", "no placeholder")


def test_callback_bodies_name_the_event_and_object() -> None:
    found = callback_event("name=expense.create&object_id=401&account_id=aC3mE7&user_id=1")
    assert found is not None
    assert (found.name, found.object_id, found.account_id) == ("expense.create", "401", "aC3mE7")
    assert callback_event("name=callback.verify&object_id=9&verifier=abc") is None
    assert callback_event("") is None
