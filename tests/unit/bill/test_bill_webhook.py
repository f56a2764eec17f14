"""BILL's webhook verifier and event id, against vectors computed here with hmac."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.bill.webhook import delivery_id, verify
from services.runtime.signatures import VerificationError

SECURITY_KEY = "shown-once-security-key"
BODY = json.dumps(
    {
        "metadata": {
            "eventId": "7d3c0b8e-1f3a-4c55-9d7e-2a1b3c4d5e6f",
            "subscriptionId": "f6d0",
            "organizationId": "00801",
            "eventType": "payment.updated",
            "version": "1",
        },
        "payment": {"id": "stp01", "status": "SCHEDULED"},
    },
    separators=(",", ":"),
).encode()
NOW = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def _sign(body: bytes) -> str:
    digest = hmac.new(SECURITY_KEY.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _check(body: bytes, headers: dict[str, str]) -> None:
    verify(secret=SECURITY_KEY, body=body, headers=headers, now=NOW, tolerance=timedelta(0))


def test_a_body_signed_with_the_security_key_verifies() -> None:
    _check(BODY, {"x-bill-sha-signature": _sign(BODY)})


def test_a_hex_signature_is_not_bills_encoding() -> None:
    hex_signature = hmac.new(SECURITY_KEY.encode(), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(VerificationError) as caught:
        _check(BODY, {"x-bill-sha-signature": hex_signature})
    assert caught.value.reason == "bad_signature"


def test_one_changed_body_byte_is_a_bad_signature() -> None:
    signature = _sign(BODY)
    with pytest.raises(VerificationError) as caught:
        _check(BODY.replace(b"SCHEDULED", b"SCHEDULEE"), {"x-bill-sha-signature": signature})
    assert caught.value.reason == "bad_signature"


def test_a_missing_signature_is_refused() -> None:
    with pytest.raises(VerificationError) as caught:
        _check(BODY, {})
    assert caught.value.reason == "missing_signature"


def test_the_delivery_id_is_the_metadata_event_id() -> None:
    assert delivery_id(BODY, {}) == "7d3c0b8e-1f3a-4c55-9d7e-2a1b3c4d5e6f"


def test_a_body_sent_as_a_json_string_still_yields_its_event_id() -> None:
    assert delivery_id(json.dumps(BODY.decode()).encode(), {}) == (
        "7d3c0b8e-1f3a-4c55-9d7e-2a1b3c4d5e6f"
    )


@pytest.mark.parametrize("body", [b"", b"[]", b'{"metadata":{}}', b'{"metadata":{"eventId":7}}'])
def test_a_body_without_an_event_id_has_none(body: bytes) -> None:
    assert delivery_id(body, {}) is None


@given(body=st.binary(max_size=512), signature=st.text(max_size=80), secret=st.text(max_size=40))
def test_random_input_raises_nothing_but_verification_error(
    body: bytes, signature: str, secret: str
) -> None:
    found = delivery_id(body, {})
    assert found is None or found.strip()
    # Anything but a VerificationError escaping fails the test.
    with contextlib.suppress(VerificationError):
        verify(
            secret=secret,
            body=body,
            headers={"x-bill-sha-signature": signature},
            now=NOW,
            tolerance=timedelta(0),
        )
