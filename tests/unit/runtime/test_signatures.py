"""Webhook verification building blocks: fixed vectors computed elsewhere, and property tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.signatures import (
    VerificationError,
    check_window,
    constant_time_equals,
    decode_signature,
    hmac_sha256,
    parse_timestamp,
    verify_hmac_sha256,
)

# RFC 4231, test case 2 (HMAC-SHA256 of "what do ya want for nothing?" under "Jefe").
RFC4231_KEY = b"Jefe"
RFC4231_DATA = b"what do ya want for nothing?"
RFC4231_HEX = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
# The same digest in base64, from
# `printf 'what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe -binary | base64`.
RFC4231_BASE64 = "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
# `printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec-test -binary | base64`
TIMESTAMPED_SECRET = b"whsec-test"
TIMESTAMPED_MESSAGE = b'1700000000.{"id":"evt_1"}'
TIMESTAMPED_BASE64 = "qw+C+p+a56aQyZhpb7VkQeECoVRsFPjCB33RySpn9lw="
# `date -u -d @1700000000 -Iseconds`
UNIX_1700000000 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)

T = TypeVar("T")


def test_hmac_sha256_matches_the_rfc_4231_vector() -> None:
    assert hmac_sha256(RFC4231_KEY, RFC4231_DATA).hex() == RFC4231_HEX


def test_hmac_sha256_matches_the_standard_library_computed_directly() -> None:
    secret, message = b"\x00\xffkey", b"body \x00 with bytes"

    expected = hmac.new(secret, message, hashlib.sha256).digest()

    assert hmac_sha256(secret, message) == expected


def test_hex_and_base64_signatures_decode_to_the_same_digest() -> None:
    digest = bytes.fromhex(RFC4231_HEX)

    assert decode_signature(RFC4231_HEX, "hex") == digest
    assert decode_signature(RFC4231_HEX.upper(), "hex") == digest
    assert decode_signature(RFC4231_BASE64, "base64") == digest
    assert decode_signature(RFC4231_BASE64.rstrip("="), "base64") == digest
    assert decode_signature(f"  {RFC4231_BASE64}\n", "base64") == digest
    url_safe = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert decode_signature(url_safe, "base64url") == digest
    assert decode_signature(RFC4231_HEX.encode(), "hex") == digest


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("abc", "hex"),  # odd length
        ("zz", "hex"),
        ("5bdc c146", "hex"),
        ("not base64!", "base64"),
        ("W9zB=Rr9g", "base64"),  # padding inside
        ("A", "base64"),  # one character cannot be base64
        ("a+b/", "base64url"),
        ("ü" * 4, "base64"),
        (b"\xff\xfe", "hex"),
    ],
)
def test_a_malformed_signature_is_a_bad_signature(text: str | bytes, encoding: str) -> None:
    with pytest.raises(VerificationError) as caught:
        decode_signature(text, encoding)  # type: ignore[arg-type]

    assert caught.value.reason == "bad_signature"
    assert caught.value.__cause__ is None


def test_an_empty_signature_is_a_missing_signature() -> None:
    for text in ["", "   "]:
        with pytest.raises(VerificationError) as caught:
            decode_signature(text, "hex")
        assert caught.value.reason == "missing_signature"


def test_constant_time_equals_compares_bytes_and_text() -> None:
    assert constant_time_equals(b"abc", b"abc")
    assert constant_time_equals("abc", b"abc")
    assert constant_time_equals("ü", "ü".encode())
    assert not constant_time_equals("abc", "abd")
    assert not constant_time_equals(b"abc", b"abcd")


def test_verify_accepts_the_openssl_computed_signature_of_a_timestamped_message() -> None:
    verify_hmac_sha256(
        secret=TIMESTAMPED_SECRET,
        message=TIMESTAMPED_MESSAGE,
        signatures=TIMESTAMPED_BASE64,
        encoding="base64",
    )


def test_verify_accepts_any_one_matching_candidate_among_several() -> None:
    verify_hmac_sha256(
        secret=RFC4231_KEY,
        message=RFC4231_DATA,
        signatures=["not-hex", "00" * 32, RFC4231_HEX],
        encoding="hex",
    )


def test_verify_refuses_a_signature_of_a_different_body() -> None:
    with pytest.raises(VerificationError) as caught:
        verify_hmac_sha256(
            secret=TIMESTAMPED_SECRET,
            message=TIMESTAMPED_MESSAGE + b" ",
            signatures=TIMESTAMPED_BASE64,
            encoding="base64",
        )

    assert caught.value.reason == "bad_signature"


def test_verify_refuses_a_signature_made_with_another_secret() -> None:
    with pytest.raises(VerificationError) as caught:
        verify_hmac_sha256(
            secret=b"other",
            message=RFC4231_DATA,
            signatures=RFC4231_HEX,
            encoding="hex",
        )

    assert caught.value.reason == "bad_signature"


def test_verify_without_any_signature_reports_it_missing() -> None:
    for signatures in [None, "", [], ["", "  "]]:
        with pytest.raises(VerificationError) as caught:
            verify_hmac_sha256(
                secret=b"k",
                message=b"m",
                signatures=signatures,
                encoding="hex",
            )
        assert caught.value.reason == "missing_signature"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", UNIX_1700000000),
        (" 1700000000 ", UNIX_1700000000),
        (b"1700000000", UNIX_1700000000),
        ("1700000000000", UNIX_1700000000),
        ("1700000000.250", UNIX_1700000000 + timedelta(milliseconds=250)),
        ("2023-11-14T22:13:20Z", UNIX_1700000000),
        ("2023-11-14T23:13:20+01:00", UNIX_1700000000),
        ("2023-11-14T22:13:20", UNIX_1700000000),
        ("2023-11-14T22:13:20.000+00:00", UNIX_1700000000),
    ],
)
def test_timestamps_parse_from_unix_seconds_milliseconds_and_iso_8601(
    text: str | bytes, expected: datetime
) -> None:
    parsed = parse_timestamp(text)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "-1700000000",
        "1e9",
        "nan",
        "inf",
        "0x6553f100",
        "1" * 70,
        "99999999999999999999",  # past the year 9999 even as milliseconds
        "9999999999999999",  # milliseconds past the year 9999
        "9999-12-31T23:59:59-23:59",  # the year 10000 in UTC
        "0001-01-01T00:00:00+23:59",  # before the year 1 in UTC
        "9999-12-31T23:59:59.999999-00:00:01",  # one second past the year 9999
        "2023-13-40T00:00:00Z",
        "١٧٠٠٠٠٠٠٠٠",  # Arabic-Indic digits
        b"\xff",
    ],
)
def test_a_value_that_is_no_timestamp_is_a_bad_timestamp(text: str | bytes) -> None:
    with pytest.raises(VerificationError) as caught:
        parse_timestamp(text)

    assert caught.value.reason == "bad_timestamp"
    assert caught.value.__cause__ is None


def test_an_absent_timestamp_is_a_missing_timestamp() -> None:
    for text in [None, "", "  "]:
        with pytest.raises(VerificationError) as caught:
            parse_timestamp(text)
        assert caught.value.reason == "missing_timestamp"


def test_a_timestamp_inside_the_tolerance_passes_on_both_sides_of_now() -> None:
    now = UNIX_1700000000
    tolerance = timedelta(minutes=5)

    check_window(now - tolerance, now=now, tolerance=tolerance)
    check_window(now + tolerance, now=now, tolerance=tolerance)
    check_window(now, now=now, tolerance=tolerance)


def test_an_old_timestamp_is_stale_and_the_message_gives_its_age() -> None:
    now = UNIX_1700000000

    with pytest.raises(VerificationError) as caught:
        check_window(now - timedelta(seconds=301), now=now, tolerance=timedelta(seconds=300))

    assert caught.value.reason == "stale_timestamp"
    assert str(caught.value) == (
        "stale_timestamp: the timestamp is 301s old; the tolerance is 300s"
    )


def test_a_timestamp_from_the_future_beyond_the_tolerance_is_stale() -> None:
    now = UNIX_1700000000

    with pytest.raises(VerificationError) as caught:
        check_window(now + timedelta(minutes=10), now=now, tolerance=timedelta(minutes=5))

    assert caught.value.reason == "stale_timestamp"
    assert "600s in the future" in str(caught.value)


def test_the_window_compares_instants_across_time_zones_and_naive_utc() -> None:
    now = UNIX_1700000000
    same_instant_elsewhere = now.astimezone(timezone(timedelta(hours=-7)))
    naive_utc = now.replace(tzinfo=None)

    check_window(same_instant_elsewhere, now=now, tolerance=timedelta(seconds=1))
    check_window(naive_utc, now=now, tolerance=timedelta(seconds=1))


def test_a_verification_error_has_a_default_message_per_reason() -> None:
    error = VerificationError("bad_signature")

    assert error.reason == "bad_signature"
    assert str(error) == "bad_signature: the signature does not match the request"


ENCODINGS = st.sampled_from(["hex", "base64", "base64url"])


def _outcome(call: Callable[[], T]) -> T | VerificationError:
    # Any exception other than VerificationError propagates and fails the test.
    try:
        return call()
    except VerificationError as error:
        return error


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)), ENCODINGS)
def test_decoding_any_input_raises_nothing_but_verification_error(
    text: str | bytes, encoding: str
) -> None:
    outcome = _outcome(lambda: decode_signature(text, encoding))  # type: ignore[arg-type]

    if isinstance(outcome, VerificationError):
        assert outcome.reason in {"bad_signature", "missing_signature"}
    else:
        assert isinstance(outcome, bytes)


@given(st.one_of(st.none(), st.text(max_size=80), st.binary(max_size=80)))
def test_parsing_any_input_as_a_timestamp_raises_nothing_but_verification_error(
    text: str | bytes | None,
) -> None:
    outcome = _outcome(lambda: parse_timestamp(text))

    if isinstance(outcome, VerificationError):
        assert outcome.reason in {"bad_timestamp", "missing_timestamp"}
    else:
        assert outcome.tzinfo is not None


@given(st.integers(min_value=0, max_value=253_402_300_799))
def test_any_unix_number_parses_as_seconds_or_else_as_milliseconds(seconds: int) -> None:
    parsed = parse_timestamp(str(seconds))

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    if seconds < 100_000_000_000:
        assert parsed == epoch + timedelta(seconds=seconds)
    else:  # that many seconds would be after the year 5000: read as milliseconds
        assert parsed == epoch + timedelta(milliseconds=seconds)


@given(
    st.binary(max_size=64),
    st.binary(max_size=256),
    st.one_of(st.none(), st.text(max_size=100), st.lists(st.text(max_size=100), max_size=4)),
    ENCODINGS,
)
def test_verifying_any_input_raises_nothing_but_verification_error(
    secret: bytes, message: bytes, signatures: str | list[str] | None, encoding: str
) -> None:
    with pytest.raises(VerificationError):
        verify_hmac_sha256(
            secret=secret,
            message=message,
            signatures=signatures,
            encoding=encoding,  # type: ignore[arg-type]
        )


@given(st.binary(max_size=64), st.binary(max_size=256))
def test_a_signature_computed_by_the_hmac_module_always_verifies(
    secret: bytes, message: bytes
) -> None:
    signature = base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()

    verify_hmac_sha256(secret=secret, message=message, signatures=signature, encoding="base64")
