"""BambooHR's webhook verifier against vectors computed here with hmac, and random input."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.bamboohr.webhook import delivery_id, verify
from services.runtime.signatures import VerificationError

# The fact sheet's recorded delivery (section 11), checked against its recorded signature.
SHEET_KEY = "123b929362d51613054f71e5e5d4bf2c"
SHEET_TIMESTAMP = "1658248023"
SHEET_BODY = (
    b'{"employees":[{"changedFields":["First name"],"fields":{"Employee #":{"value":"300"},'
    b'"First name":{"value":"Tefi"},"Last name":{"value":"Adams"}},"id":"5"}]}'
)
SHEET_SIGNATURE = "56491dd9c2b352bc5f4fc627159aae20ddff9c8cb19f239a6de6771dc5310bac"
SENT_AT = datetime.fromtimestamp(int(SHEET_TIMESTAMP), tz=UTC)
WINDOW = timedelta(minutes=5)


def _headers(signature: str, timestamp: str = SHEET_TIMESTAMP) -> dict[str, str]:
    return {"x-bamboohr-signature": signature, "x-bamboohr-timestamp": timestamp}


def _check(headers: dict[str, str], *, body: bytes = SHEET_BODY, now: datetime = SENT_AT) -> None:
    verify(secret=SHEET_KEY, body=body, headers=headers, now=now, tolerance=WINDOW)


def test_the_sheets_recorded_delivery_is_independently_reproduced() -> None:
    digest = hmac.new(SHEET_KEY.encode(), SHEET_BODY + SHEET_TIMESTAMP.encode(), hashlib.sha256)
    assert digest.hexdigest() == SHEET_SIGNATURE


def test_the_sheets_recorded_delivery_verifies() -> None:
    _check(_headers(SHEET_SIGNATURE))


def test_an_uppercase_hex_signature_also_verifies() -> None:
    _check(_headers(SHEET_SIGNATURE.upper()))


def test_an_iso_timestamp_is_signed_as_sent_and_parsed_for_its_age() -> None:
    stamp = "2026-02-03T10:00:00+0000"
    body = b'{"type":"employee.updated"}'
    signature = hmac.new(SHEET_KEY.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    now = datetime(2026, 2, 3, 10, 4, tzinfo=UTC)
    _check(_headers(signature, stamp), body=body, now=now)


def test_one_changed_body_byte_is_a_bad_signature() -> None:
    tampered = SHEET_BODY.replace(b"Tefi", b"Tefy")
    with pytest.raises(VerificationError) as caught:
        _check(_headers(SHEET_SIGNATURE), body=tampered)
    assert caught.value.reason == "bad_signature"


def test_a_changed_timestamp_is_a_bad_signature() -> None:
    with pytest.raises(VerificationError) as caught:
        _check(_headers(SHEET_SIGNATURE, "1658248024"))
    assert caught.value.reason == "bad_signature"


def test_signing_timestamp_dot_body_as_some_guides_do_is_refused() -> None:
    wrong = hmac.new(
        SHEET_KEY.encode(), SHEET_TIMESTAMP.encode() + b"." + SHEET_BODY, hashlib.sha256
    ).hexdigest()
    with pytest.raises(VerificationError) as caught:
        _check(_headers(wrong))
    assert caught.value.reason == "bad_signature"


def test_a_genuine_delivery_older_than_the_window_is_stale_with_its_age() -> None:
    with pytest.raises(VerificationError) as caught:
        _check(_headers(SHEET_SIGNATURE), now=SENT_AT + timedelta(minutes=6))
    assert caught.value.reason == "stale_timestamp"
    assert "360s old" in caught.value.detail


def test_a_delivery_from_the_future_is_stale_too() -> None:
    with pytest.raises(VerificationError) as caught:
        _check(_headers(SHEET_SIGNATURE), now=SENT_AT - timedelta(minutes=6))
    assert caught.value.reason == "stale_timestamp"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"x-bamboohr-timestamp": SHEET_TIMESTAMP}, "missing_signature"),
        (
            {"x-bamboohr-signature": "", "x-bamboohr-timestamp": SHEET_TIMESTAMP},
            "missing_signature",
        ),
        ({"x-bamboohr-signature": SHEET_SIGNATURE}, "missing_timestamp"),
        (_headers("zz" * 32), "bad_signature"),
    ],
)
def test_missing_or_malformed_headers_are_refused_with_their_reason(
    headers: dict[str, str], reason: str
) -> None:
    with pytest.raises(VerificationError) as caught:
        _check(headers)
    assert caught.value.reason == reason


def test_bamboohr_sends_no_delivery_id_so_the_body_hash_is_used() -> None:
    assert delivery_id(SHEET_BODY, _headers(SHEET_SIGNATURE)) is None


@given(
    body=st.binary(max_size=512),
    signature=st.text(max_size=80),
    timestamp=st.text(max_size=40),
    secret=st.text(max_size=40),
)
def test_random_input_raises_nothing_but_verification_error(
    body: bytes, signature: str, timestamp: str, secret: str
) -> None:
    # Anything but a VerificationError escaping fails the test.
    with contextlib.suppress(VerificationError):
        verify(
            secret=secret,
            body=body,
            headers=_headers(signature, timestamp),
            now=SENT_AT,
            tolerance=WINDOW,
        )


@pytest.mark.parametrize(
    ("stamp", "why"),
    [
        ("9999-12-31T23:59:59-23:59", "in UTC it is in the year 10000"),
        ("0001-01-01T00:00:00+23:59", "in UTC it is before the year 1"),
        ("9999999999999999", "as milliseconds it is after the year 9999"),
        ("99999999999999999999.999999999", "the longest unix value the pattern allows"),
    ],
)
def test_a_signed_timestamp_beyond_the_calendar_is_refused_not_raised(stamp: str, why: str) -> None:
    # Signed correctly, so the signature check passes and the timestamp is parsed.
    signature = hmac.new(SHEET_KEY.encode(), SHEET_BODY + stamp.encode(), hashlib.sha256)
    with pytest.raises(VerificationError) as caught:
        _check(_headers(signature.hexdigest(), stamp))
    assert caught.value.reason == "bad_timestamp", why
