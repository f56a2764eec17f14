"""The canonical events: exact money, strict fields, derived keys, ordered revisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from pydantic import ValidationError

from schemas import (
    EVENT_TYPES,
    BillChanged,
    BillLine,
    DepartmentChanged,
    EmployeeChanged,
    Event,
    JobTitleChanged,
    decode_event,
)

EventFactory = Callable[[str], Event]


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_event_type_round_trips_through_orjson_and_decode_event(
    type_name: str, example: EventFactory
) -> None:
    event = example(type_name)
    wire = orjson.dumps(event.model_dump(mode="json"))

    decoded = decode_event(wire)

    assert type(decoded) is EVENT_TYPES[type_name]
    assert decoded == event
    assert orjson.dumps(decoded.model_dump(mode="json")) == wire


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_event_type_round_trips_through_pydantic_json(
    type_name: str, example: EventFactory
) -> None:
    event = example(type_name)

    assert decode_event(event.model_dump_json()) == event


def test_money_travels_as_decimal_strings_and_comes_back_exact(example: EventFactory) -> None:
    bill = example("BillChanged")
    wire = orjson.loads(orjson.dumps(bill.model_dump(mode="json")))

    assert wire["total"] == "282.61"
    assert wire["lines"][0]["unit_price"] == "125.05"
    assert wire["lines"][0]["quantity"] == "2"
    decoded = decode_event(orjson.dumps(wire))
    assert isinstance(decoded, BillChanged)
    assert decoded.total == Decimal("282.61")
    assert decoded.subtotal + decoded.tax_total == decoded.total


def test_a_sum_that_floats_would_get_wrong_stays_exact(example: EventFactory) -> None:
    bill = example("BillChanged")
    wire = bill.model_dump(mode="json")
    wire["subtotal"], wire["tax_total"], wire["total"] = "0.10", "0.20", "0.30"

    decoded = decode_event(orjson.dumps(wire))

    assert isinstance(decoded, BillChanged)
    assert decoded.subtotal + decoded.tax_total == decoded.total


def test_money_in_exponent_form_is_written_out_in_fixed_point(example: EventFactory) -> None:
    bill = example("BillChanged").model_dump()
    bill["total"] = Decimal("1E+3")

    wire = orjson.loads(BillChanged.model_validate(bill).model_dump_json())

    assert wire["total"] == "1000"


def test_a_float_is_refused_where_money_is_expected(example: EventFactory) -> None:
    data = example("BillChanged").model_dump()
    data["total"] = 282.61

    with pytest.raises(ValidationError, match="not a float"):
        BillChanged.model_validate(data)


def test_money_sent_as_a_json_number_is_read_exactly(example: EventFactory) -> None:
    wire = example("BillChanged").model_dump_json().replace('"total":"282.61"', '"total":282.61')

    decoded = decode_event(wire)

    assert isinstance(decoded, BillChanged)
    assert decoded.total == Decimal("282.61")


def test_not_a_number_is_refused_as_money(example: EventFactory) -> None:
    data = example("BillChanged").model_dump()
    data["total"] = "NaN"

    with pytest.raises(ValidationError):
        BillChanged.model_validate(data)


def test_a_currency_must_be_an_iso_code(example: EventFactory) -> None:
    data = example("BillChanged").model_dump()
    data["currency"] = "usd"

    with pytest.raises(ValidationError, match="currency"):
        BillChanged.model_validate(data)


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_an_unknown_field_is_refused(type_name: str, example: EventFactory) -> None:
    data = example(type_name).model_dump()
    data["surprise"] = 1

    with pytest.raises(ValidationError, match="surprise"):
        EVENT_TYPES[type_name].model_validate(data)


def test_an_unknown_field_inside_a_bill_line_is_refused(example: EventFactory) -> None:
    data = example("BillChanged").model_dump()
    data["lines"][0]["colour"] = "blue"

    with pytest.raises(ValidationError, match="colour"):
        BillChanged.model_validate(data)


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_events_are_immutable(type_name: str, example: EventFactory) -> None:
    event = example(type_name)

    with pytest.raises(ValidationError, match="frozen"):
        event.connection_id = "other"  # type: ignore[misc]


def test_envelope_fields_default_when_left_out(example: EventFactory) -> None:
    data = example("EmployeeChanged").model_dump(mode="json")
    for name in ("event_id", "recorded_at", "causation_id", "correlation_id", "tenant_id"):
        del data[name]
    before = datetime.now(UTC)

    event = decode_event(data)

    assert event.correlation_id is None
    assert event.causation_id is None
    assert event.tenant_id == "default"
    assert event.event_id.version == 4
    assert before <= event.recorded_at <= datetime.now(UTC)


def test_occurred_at_must_carry_a_time_zone(example: EventFactory) -> None:
    data = example("EmployeeChanged").model_dump()
    data["occurred_at"] = datetime(2026, 2, 2, 9, 15)  # naive on purpose

    with pytest.raises(ValidationError, match="occurred_at"):
        EmployeeChanged.model_validate(data)


def test_the_entity_key_is_derived_from_the_record_id(example: EventFactory) -> None:
    assert example("EmployeeChanged").key == "conn-42:123"
    assert example("BillChanged").key == "conn-42:1626"
    assert example("BillPaid").key == "conn-42:stp01AAA:blp01BBB"
    assert example("ExpenseReportApproved").key == "conn-42:3397451"
    assert example("VendorChanged").key == "conn-42:5"


def test_departments_divisions_and_job_titles_never_share_a_key(example: EventFactory) -> None:
    department = example("DepartmentChanged")
    assert department.entity_key == "division:18"
    as_department = DepartmentChanged.model_validate(
        {**department.model_dump(exclude={"entity_key"}), "kind": "department"}
    )
    title = JobTitleChanged.model_validate(
        {**example("JobTitleChanged").model_dump(exclude={"entity_key"}), "job_title_id": "18"}
    )

    assert {department.entity_key, as_department.entity_key, title.entity_key} == {
        "division:18",
        "department:18",
        "job_title:18",
    }


def test_an_entity_key_that_disagrees_with_the_record_id_is_refused(
    example: EventFactory,
) -> None:
    data = example("EmployeeChanged").model_dump()
    data["entity_key"] = "124"

    with pytest.raises(ValidationError, match="entity_key must be '123'"):
        EmployeeChanged.model_validate(data)


def test_an_event_without_derivation_needs_its_entity_key(example: EventFactory) -> None:
    data = example("SyncOutcome").model_dump()
    del data["entity_key"]

    with pytest.raises(ValidationError, match="entity_key"):
        EVENT_TYPES["SyncOutcome"].model_validate(data)


def test_changed_fields_must_name_fields_of_the_employee(example: EventFactory) -> None:
    data = example("EmployeeChanged").model_dump()
    data["changed_fields"] = ("department", "workEmail")

    with pytest.raises(ValidationError, match="workEmail"):
        EmployeeChanged.model_validate(data)


def test_changed_fields_may_not_name_envelope_fields(example: EventFactory) -> None:
    data = example("EmployeeChanged").model_dump()
    data["changed_fields"] = ("recorded_at",)

    with pytest.raises(ValidationError, match="recorded_at"):
        EmployeeChanged.model_validate(data)


def test_an_employee_status_outside_the_three_is_refused(example: EventFactory) -> None:
    data = example("EmployeeChanged").model_dump()
    data["status"] = "Terminated"

    with pytest.raises(ValidationError, match="status"):
        EmployeeChanged.model_validate(data)


def test_a_bill_needs_at_least_one_line(example: EventFactory) -> None:
    data = example("BillChanged").model_dump()
    data["lines"] = ()

    with pytest.raises(ValidationError, match="lines"):
        BillChanged.model_validate(data)


def test_a_later_update_time_is_a_later_revision(example: EventFactory) -> None:
    employee = example("EmployeeChanged")
    assert isinstance(employee, EmployeeChanged)
    later = employee.model_copy(
        update={"source_updated_at": employee.source_updated_at + timedelta(microseconds=1)}
    )

    assert later.revision > employee.revision


def test_the_source_counter_orders_revisions_before_the_clock(example: EventFactory) -> None:
    employee = example("EmployeeChanged")
    assert isinstance(employee, EmployeeChanged)
    first = employee.model_copy(update={"source_version": 8})
    second = employee.model_copy(
        update={
            "source_version": 9,
            "source_updated_at": employee.source_updated_at - timedelta(hours=1),
        }
    )

    assert second.revision > first.revision


def test_the_display_name_prefers_the_preferred_name(example: EventFactory) -> None:
    employee = example("EmployeeChanged")
    assert isinstance(employee, EmployeeChanged)

    assert employee.display_name == "Avi Nguyen"
    assert employee.model_copy(update={"preferred_name": None}).display_name == "Ava Nguyen"


def test_a_bill_line_without_quantity_or_unit_price_is_valid() -> None:
    line = BillLine.model_validate({"amount": "12.00", "account": {"account_id": "1"}})

    assert line.quantity is None
    assert line.amount == Decimal("12.00")
