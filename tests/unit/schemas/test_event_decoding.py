"""decode_event: one way in for every message, with errors that say what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pydantic import ValidationError

from schemas import (
    EventDecodeError,
    InvalidEvent,
    JobTitleChanged,
    RawDelivery,
    UnknownEventType,
    UnsupportedSchemaVersion,
    UpcasterRegistry,
    UpcastingError,
    decode_event,
)
from schemas.ap import BillPaid
from schemas.upcasting import UPCASTERS

EventFactory = Callable[[str], Any]


def _wire(example: EventFactory, type_name: str) -> dict[str, Any]:
    data: dict[str, Any] = example(type_name).model_dump(mode="json")
    return data


def test_an_unknown_type_names_itself_and_the_known_types(example: EventFactory) -> None:
    data = _wire(example, "EmployeeChanged") | {"type": "EmployeeHired"}

    with pytest.raises(UnknownEventType) as caught:
        decode_event(orjson.dumps(data))

    assert caught.value.event_type == "EmployeeHired"
    assert "'EmployeeHired'" in str(caught.value)
    assert "EmployeeChanged" in str(caught.value)
    assert isinstance(caught.value, EventDecodeError)


def test_a_message_without_a_type_is_no_event() -> None:
    with pytest.raises(InvalidEvent, match="'type'"):
        decode_event(b'{"connection_id": "c"}')


@pytest.mark.parametrize("payload", [b"not json", b"{", "\u00e9t\u00e9".encode("latin-1")])
def test_bytes_that_are_not_json_raise_invalid_event(payload: bytes) -> None:
    with pytest.raises(InvalidEvent, match="not"):
        decode_event(payload)


def test_a_json_array_is_no_event() -> None:
    with pytest.raises(InvalidEvent, match="JSON object, not list"):
        decode_event(b"[1, 2]")


def test_a_validation_error_names_the_field_but_never_its_value(example: EventFactory) -> None:
    data = _wire(example, "RawDelivery")
    data["headers"] = {"authorization": "Bearer sk_live_do_not_log"}
    data["content_type"] = 12345

    with pytest.raises(InvalidEvent) as caught:
        decode_event(orjson.dumps(data))

    message = str(caught.value)
    assert message.startswith("invalid RawDelivery: content_type:")
    assert "12345" not in message
    assert "sk_live_do_not_log" not in message
    assert caught.value.__cause__ is None


def test_a_decoded_raw_delivery_keeps_its_body_verbatim(example: EventFactory) -> None:
    event = decode_event(orjson.dumps(_wire(example, "RawDelivery")))

    assert isinstance(event, RawDelivery)
    assert event.body == '{"type":"employee.updated"}'


def test_an_already_parsed_object_decodes_too(example: EventFactory) -> None:
    event = example("BillPaid")

    assert decode_event(event.model_dump(mode="json")) == event


def test_a_version_1_bill_paid_reads_as_version_2_not_voided(example: EventFactory) -> None:
    data = _wire(example, "BillPaid") | {"schema_version": 1, "entity_key": "stp01AAA"}
    del data["voided"], data["allocation_id"]

    event = decode_event(data)

    assert isinstance(event, BillPaid)
    assert (event.schema_version, event.voided) == (2, False)
    assert event.allocation_id == event.bill.bill_id  # version 1 had none: the bill's id
    assert event.entity_key == f"stp01AAA:{event.bill.bill_id}"


def test_an_event_built_here_without_a_version_is_current_not_upcast(
    example: EventFactory,
) -> None:
    data = _wire(example, "BillPaid") | {"voided": True}
    del data["schema_version"]

    event = BillPaid.model_validate(data)

    assert (event.schema_version, event.voided) == (2, True)


def test_an_event_from_a_newer_release_is_refused_with_advice(example: EventFactory) -> None:
    data = _wire(example, "EmployeeChanged") | {"schema_version": 2}

    with pytest.raises(UnsupportedSchemaVersion, match=r"newer release.*upgrade"):
        decode_event(data)


def test_an_old_version_without_an_upcaster_is_refused(example: EventFactory) -> None:
    data = _wire(example, "EmployeeChanged") | {"schema_version": 0}

    with pytest.raises(UnsupportedSchemaVersion, match="no upcaster"):
        decode_event(data)


def test_a_missing_schema_version_is_read_as_version_one(example: EventFactory) -> None:
    event = example("DepartmentChanged")
    data = event.model_dump(mode="json")
    del data["schema_version"]

    assert decode_event(data) == event


def _registry_with_two_job_title_steps() -> UpcasterRegistry:
    """A made-up history: v0 had ``title``, v1 ``archived``; v2 has ``name`` and ``active``."""
    registry = UpcasterRegistry()

    @registry.step("JobTitleChanged", from_version=0)
    def rename_title(data: dict[str, Any]) -> dict[str, Any]:
        data["name"] = data.pop("title")
        return data

    @registry.step("JobTitleChanged", from_version=1)
    def invert_archived(data: dict[str, Any]) -> dict[str, Any]:
        data["active"] = not data.pop("archived")
        return data

    return registry


def test_upcasters_run_in_order_from_the_events_version(example: EventFactory) -> None:
    registry = _registry_with_two_job_title_steps()
    current = _wire(example, "JobTitleChanged")
    old = {k: v for k, v in current.items() if k not in ("name", "active")}
    old |= {"schema_version": 0, "title": current["name"], "archived": not current["active"]}

    upcast = registry.upcast(old)

    assert upcast["schema_version"] == 2
    assert upcast["name"] == current["name"]
    assert upcast["active"] is current["active"]
    assert "title" not in upcast
    assert old["schema_version"] == 0, "the input is not modified"


def test_decode_event_applies_upcasters_before_validating(example: EventFactory) -> None:
    registry = UpcasterRegistry()
    registry.register(
        "JobTitleChanged",
        0,
        lambda data: {**{k: v for k, v in data.items() if k != "title"}, "name": data["title"]},
    )
    event = example("JobTitleChanged")
    current = event.model_dump(mode="json")
    old = {k: v for k, v in current.items() if k != "name"} | {
        "schema_version": 0,
        "title": current["name"],
    }

    decoded = decode_event(orjson.dumps(old), upcasters=registry)

    assert isinstance(decoded, JobTitleChanged)
    assert decoded == event


def test_the_production_registry_is_not_touched_by_test_upcasters() -> None:
    _registry_with_two_job_title_steps()

    assert ("JobTitleChanged", 0) not in UPCASTERS


def test_registering_the_same_step_twice_is_refused() -> None:
    registry = UpcasterRegistry()
    registry.register("BillPaid", 1, dict)

    with pytest.raises(UpcastingError, match="already registered"):
        registry.register("BillPaid", 1, dict)


def test_a_failing_upcaster_says_which_type_and_version(example: EventFactory) -> None:
    registry = UpcasterRegistry()
    registry.register("BillPaid", 0, lambda data: {**data, "x": data["missing"]})

    with pytest.raises(UpcastingError, match="BillPaid from v0"):
        decode_event(_wire(example, "BillPaid") | {"schema_version": 0}, upcasters=registry)


def _title_was_called_name_before_v1() -> UpcasterRegistry:
    registry = UpcasterRegistry()

    @registry.step("JobTitleChanged", from_version=0)
    def rename_title(data: dict[str, Any]) -> dict[str, Any]:
        data["name"] = data.pop("title")
        return data

    return registry


def _as_version_zero(event: JobTitleChanged) -> dict[str, Any]:
    data: dict[str, Any] = event.model_dump(mode="json")
    data["title"] = data.pop("name")
    data["schema_version"] = 0
    return data


def test_plain_model_validation_upcasts_too_so_typed_handlers_see_the_current_version(
    example: EventFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("schemas.envelope.UPCASTERS", _title_was_called_name_before_v1())
    event = example("JobTitleChanged")

    validated = JobTitleChanged.model_validate_json(orjson.dumps(_as_version_zero(event)))

    assert validated == event


def test_plain_model_validation_refuses_a_version_it_cannot_reach(example: EventFactory) -> None:
    data = _wire(example, "JobTitleChanged") | {"schema_version": 3}

    with pytest.raises(ValidationError, match="schema_version 3 is not the current v1"):
        JobTitleChanged.model_validate(data)


async def test_a_faststream_handler_typed_with_the_event_receives_it_upcast(
    example: EventFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("schemas.envelope.UPCASTERS", _title_was_called_name_before_v1())
    event = example("JobTitleChanged")
    received: list[JobTitleChanged] = []
    broker = KafkaBroker()

    @broker.subscriber("people.department", group_id="test")
    async def keep(title: JobTitleChanged) -> None:
        received.append(title)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(orjson.dumps(_as_version_zero(event)), "people.department")

    assert received == [event]
