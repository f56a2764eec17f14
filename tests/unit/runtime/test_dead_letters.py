"""What a dead letter says about the record it gives up on, and how long retries wait."""

from __future__ import annotations

import base64

import pytest
from aiokafka.structs import ConsumerRecord

from services.runtime.dead_letters import AttemptLedger, HandlerRetryPolicy, dead_letter_for


def _record(
    value: bytes | None, key: bytes | None = b"conn-5:employee-8"
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="people.employee",
        partition=4,
        offset=1207,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value or b""),
        headers=[],
    )


class TargetRefusedError(RuntimeError):
    pass


def test_a_dead_letter_keeps_the_original_bytes_position_and_key() -> None:
    body = b'{"type": "EmployeeChanged", "first_name": "Zo\xc3\xab"}'

    letter = dead_letter_for(
        _record(body), service="zoho", attempts=5, error=TargetRefusedError("no")
    )

    assert letter.original == body.decode()
    assert letter.original_encoding == "utf-8"
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        "people.employee",
        4,
        1207,
    )
    assert letter.original_key == "conn-5:employee-8"
    assert (letter.connection_id, letter.entity_key) == ("conn-5", "employee-8")
    assert letter.attempts == 5
    assert letter.error_type == f"{__name__}.TargetRefusedError"
    assert letter.error == "no"


def test_bytes_that_are_not_text_are_kept_in_base64() -> None:
    body = b"\xff\xfe\x00binary"

    letter = dead_letter_for(_record(body), service="zoho", attempts=1, error=ValueError("x"))

    assert letter.original_encoding == "base64"
    assert base64.b64decode(letter.original) == body
    assert letter.error_type == "ValueError"


def test_a_dead_letter_joins_the_audit_chain_of_the_event_it_gave_up_on() -> None:
    body = (
        b'{"event_id": "0b9f4a52-3d0e-4c55-9a3e-0d6f1f0b7a11",'
        b' "correlation_id": "8e2d1c00-1111-4c55-9a3e-0d6f1f0b7a11", "tenant_id": "acme"}'
    )

    letter = dead_letter_for(_record(body), service="zoho", attempts=5, error=ValueError("x"))

    assert str(letter.causation_id) == "0b9f4a52-3d0e-4c55-9a3e-0d6f1f0b7a11"
    assert str(letter.correlation_id) == "8e2d1c00-1111-4c55-9a3e-0d6f1f0b7a11"
    assert letter.tenant_id == "acme"


def test_a_record_without_a_usable_key_is_still_dead_lettered_under_its_position() -> None:
    letter = dead_letter_for(
        _record(b"not json", key=None), service="zoho", attempts=5, error=ValueError("x")
    )

    assert letter.original_key is None
    assert letter.connection_id == "unknown"
    assert letter.entity_key == "people.employee/4/1207"
    assert letter.causation_id is None


def test_a_very_long_error_is_cut_to_a_readable_size() -> None:
    letter = dead_letter_for(
        _record(b"{}"), service="zoho", attempts=5, error=ValueError("x" * 100_000)
    )

    assert len(letter.error) == 4000


@pytest.mark.parametrize(
    ("failures", "ceiling"), [(1, 0.2), (2, 0.4), (3, 0.8), (6, 5.0), (30, 5.0)]
)
def test_backoff_doubles_up_to_its_cap_with_jitter_below_the_ceiling(
    failures: int, ceiling: float
) -> None:
    policy = HandlerRetryPolicy(first_backoff_s=0.2, max_backoff_s=5.0)

    waits = [policy.backoff_s(failures) for _ in range(200)]

    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)


def test_the_ledger_counts_failures_per_record_and_forgets_a_finished_one() -> None:
    ledger = AttemptLedger()
    first, second = ("t", 0, 10), ("t", 0, 11)

    assert ledger.record_failure(first) == 1
    assert ledger.record_failure(first) == 2
    assert ledger.record_failure(second) == 1
    ledger.forget(first)

    assert ledger.failures(first) == 0
    assert ledger.failures(second) == 1


def test_the_ledger_forgets_the_oldest_records_beyond_its_capacity() -> None:
    ledger = AttemptLedger(capacity=2)
    for offset in range(3):
        ledger.record_failure(("t", 0, offset))

    assert ledger.failures(("t", 0, 0)) == 0
    assert ledger.failures(("t", 0, 2)) == 1
