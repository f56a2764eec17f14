"""Flow 3's mapping: department codes (stable, unique, within 10), link options, bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.people import EmployeeChanged
from services.acumatica.mapping import (
    CODE_LENGTH,
    MappingError,
    department_body,
    department_name,
    department_source,
    derived_code,
    employee_body,
    operator_code,
    unwrap,
)

_AT = datetime(2026, 3, 1, tzinfo=UTC)


def _employee(**changes: Any) -> EmployeeChanged:
    values: dict[str, Any] = {
        "connection_id": "bamboo",
        "occurred_at": _AT,
        "source_updated_at": _AT,
        "employee_id": "7",
        "status": "active",
        "first_name": "Ava",
        "last_name": "Nguyen",
        "work_email": "Ava.Nguyen@Acme.Example",
        "department": "Engineering",
        "division": "Europe",
        "job_title": "Engineer",
    }
    values.update(changes)
    return EmployeeChanged(**values)


def test_a_name_becomes_its_first_ten_letters_and_digits_in_upper_case() -> None:
    assert derived_code("Engineering", {}) == "ENGINEERIN"
    assert derived_code("R&D 2", {}) == "RD2"
    assert derived_code("  ", {}) == "DEPT"


def test_a_code_another_name_holds_gets_a_hash_of_this_name_and_keeps_it() -> None:
    taken = {"ENGINEERIN": "engineering"}
    other = derived_code("Engineering Ops", taken)
    assert other != "ENGINEERIN"
    assert other.startswith("ENGINEE")
    assert len(other) == CODE_LENGTH
    assert derived_code("Engineering Ops", taken) == other  # stable
    assert derived_code("engineering ops ", {**taken, other: "engineering ops"}) == other


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=30, unique=True))
def test_codes_are_short_upper_case_and_never_shared(names: list[str]) -> None:
    taken: dict[str, str] = {}
    for name in names:
        key = name.strip().casefold()
        if key in taken.values():
            continue
        code = derived_code(name, taken)
        assert 1 <= len(code) <= CODE_LENGTH
        assert code == code.upper()
        assert code.isalnum()
        assert code.isascii()
        assert code not in taken
        taken[code] = key


def test_the_link_option_chooses_which_values_make_a_department() -> None:
    event = _employee()
    assert department_name(event, department_source({})) == "Engineering"
    assert department_name(event, department_source({"department_from": "division"})) == "Europe"
    both = department_source({"department_from": "Division_Department"})
    assert department_name(event, both) == "Europe / Engineering"
    assert department_name(_employee(department=None), both) == "Europe"
    assert department_name(_employee(department=" "), department_source({})) is None
    with pytest.raises(MappingError, match="department_from"):
        department_source({"department_from": "team"})


def test_an_operator_code_wins_and_a_bad_one_is_refused_clearly() -> None:
    options = {"department_codes": {"engineering ": "eng"}}
    assert operator_code(options, "Engineering") == "ENG"
    assert operator_code(options, "Finance") is None
    with pytest.raises(MappingError, match="1 to 10 letters and digits"):
        operator_code({"department_codes": {"Finance": "FIN-ANCE"}}, "Finance")
    with pytest.raises(MappingError, match="name -> code"):
        operator_code({"department_codes": ["Finance"]}, "Finance")


def test_every_value_is_wrapped_and_a_leaver_is_inactive_not_deleted() -> None:
    body = employee_body(_employee(preferred_name="Avi"), "ENGINEERIN")
    assert body == {
        "Status": {"value": "Active"},
        "ContactInfo": {
            "FirstName": {"value": "Avi"},
            "LastName": {"value": "Nguyen"},
            "Email": {"value": "ava.nguyen@acme.example"},
        },
        "EmployeeSettings": {"DepartmentID": {"value": "ENGINEERIN"}},
    }
    assert unwrap(employee_body(_employee(status="terminated"), None)["Status"]) == "Inactive"
    assert "EmployeeSettings" not in employee_body(_employee(), None)
    assert (
        department_body("ENGINEERIN", "Engineering" * 10)["Description"]["value"]
        == (("Engineering" * 10)[:60])
    )
