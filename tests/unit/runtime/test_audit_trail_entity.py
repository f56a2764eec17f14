"""The pure parts of the entity audit and of replay: references, pruning, words, stamping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import orjson

from schemas.outcomes import DeadLetter
from services.runtime.audit_trail import (
    LoggedEvent,
    about_the_record,
    describe,
    entity_topics,
    parse_entity_ref,
)
from services.runtime.replay import replayed_message
from services.vendors import TOPICS, VENDORS


def test_an_entity_reference_is_a_known_vendor_and_an_id() -> None:
    ref = parse_entity_ref("bamboohr:4711", VENDORS)
    assert ref is not None
    assert (ref.vendor, ref.entity_id) == ("bamboohr", "4711")
    assert parse_entity_ref("2f0c6a3e-4f1e-4a43-9b8c-6f1a0e1f2d3c", VENDORS) is None
    assert parse_entity_ref("nope:4711", VENDORS) is None
    assert parse_entity_ref("bamboohr:", VENDORS) is None


def test_a_vendors_record_is_searched_on_its_raw_topic_and_every_non_raw_topic() -> None:
    topics = entity_topics("bamboohr", TOPICS)
    assert "raw.bamboohr" in topics
    assert "raw.freshbooks" not in topics
    assert {"people.employee", "sync.outcome", "dlq.freshbooks"} <= set(topics)


def _logged(event_id: str, cause: str | None, entity: str) -> LoggedEvent:
    event = {"event_id": event_id, "causation_id": cause, "entity_key": entity}
    return LoggedEvent("t", 0, 0, f"c:{entity}", event)


def test_a_shared_chain_keeps_the_path_to_the_record_and_what_it_caused_only() -> None:
    tick = _logged("tick", None, "tick:manual")
    mine = _logged("mine", "tick", "7")
    theirs = _logged("theirs", "tick", "8")
    my_outcome = _logged("my-outcome", "mine", "7")
    their_outcome = _logged("their-outcome", "theirs", "8")
    kept = about_the_record([tick, mine, theirs, my_outcome, their_outcome], {"mine"})
    assert [e.event["event_id"] for e in kept] == ["tick", "mine", "my-outcome"]


def test_outcomes_and_dead_letters_are_described_with_the_target_id_or_the_reason() -> None:
    applied: dict[str, Any] = {
        "type": "SyncOutcome",
        "service": "freshbooks",
        "operation": "create_staff",
        "status": "applied",
        "target_ids": {"staff": "12"},
    }
    failed = {**applied, "status": "failed", "detail": "FreshBooks answered 500", "target_ids": {}}
    letter = {
        "type": "DeadLetter",
        "event_id": "d1",
        "service": "freshbooks",
        "attempts": 5,
        "error_type": "VendorCallError",
        "error": "boom",
    }
    assert describe(applied) == "written by freshbooks: create_staff applied -> staff=12"
    assert describe(failed) == "freshbooks create_staff failed: FreshBooks answered 500"
    assert describe(letter) == (
        "dead-lettered by freshbooks after 5 attempts: VendorCallError: boom "
        "(retry with: mlc replay d1)"
    )
    assert describe({"type": "EmployeeChanged"}, cause_type="DeadLetter").startswith("replayed")


def _letter(original: str, encoding: str = "utf-8") -> DeadLetter:
    correlation = uuid4()
    return DeadLetter.model_validate(
        {
            "connection_id": "c",
            "entity_key": "7",
            "occurred_at": datetime.now(UTC),
            "correlation_id": correlation,
            "service": "freshbooks",
            "original_topic": "people.employee",
            "original_partition": 0,
            "original_offset": 3,
            "original_key": "c:7",
            "original": original,
            "original_encoding": encoding,
            "attempts": 5,
            "error_type": "E",
            "error": "e",
        }
    )


def test_a_replayed_event_is_new_caused_by_the_dead_letter_and_keeps_its_chain() -> None:
    original = {"event_id": str(uuid4()), "correlation_id": "root", "type": "X", "a": 1}
    letter = _letter(orjson.dumps(original).decode())
    value, new_id = replayed_message(letter)
    replayed = orjson.loads(value)
    assert new_id is not None
    assert replayed["event_id"] == new_id != original["event_id"]
    assert replayed["causation_id"] == str(letter.event_id)
    assert replayed["correlation_id"] == "root"
    assert replayed["a"] == 1


def test_a_message_that_was_not_a_json_event_is_replayed_byte_for_byte() -> None:
    assert replayed_message(_letter("not json")) == (b"not json", None)
    assert replayed_message(_letter("AAEC", encoding="base64")) == (b"\x00\x01\x02", None)
