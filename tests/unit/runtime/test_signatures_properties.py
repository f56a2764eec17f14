"""Every building block of webhook verification, on arbitrary input: VerificationError or a value.

The inputs reach these functions from the network (headers, bodies) or from the caller's
clock and settings (``now``, ``tolerance``), so the strategies span whole domains: text
with lone surrogates, bytes, every datetime with or without an offset, negative and
extreme tolerances. Any other exception escaping fails the test. The runs are bounded and
derandomized so that CI sees the same examples every time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

from hypothesis import given, settings
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

T = TypeVar("T")

BOUNDED = settings(max_examples=250, deadline=None, derandomize=True, database=None)
# Unlike st.text(), which leaves them out, lone surrogates included: a str need not be UTF-8.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=80)
ENCODINGS = st.sampled_from(["hex", "base64", "base64url"])
# timezone() takes any offset strictly inside a day; whole seconds, as senders write them.
OFFSETS = st.integers(min_value=-86_399, max_value=86_399).map(
    lambda seconds: timezone(timedelta(seconds=seconds))
)
EDGE_MOMENTS = st.sampled_from(
    [
        datetime.min,
        datetime.max,
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=timezone(timedelta(hours=23, minutes=59))),
        datetime.max.replace(tzinfo=timezone(-timedelta(hours=23, minutes=59))),
    ]
)
# The last and the first day of the calendar, where an offset can push a moment off it.
NEAR_THE_ENDS = st.one_of(
    st.datetimes(min_value=datetime(9999, 12, 31), timezones=OFFSETS),
    st.datetimes(max_value=datetime(1, 1, 1, 23, 59, 59, 999999), timezones=OFFSETS),
)
AWARE_MOMENTS = st.one_of(NEAR_THE_ENDS, st.datetimes(timezones=OFFSETS))
MOMENTS = st.one_of(EDGE_MOMENTS, AWARE_MOMENTS, st.datetimes())
TOLERANCES = st.one_of(
    st.sampled_from([timedelta.min, timedelta.max, timedelta(0), timedelta(minutes=5)]),
    st.timedeltas(),
)


def _iso(moment: datetime, sep: str, spec: str) -> str:
    return moment.isoformat(sep=sep, timespec=spec)


# Near-valid timestamps: what a sender's clock could write, from the year 1 to 9999 with any
# offset, unix numbers up to the pattern's 20 digits, and the two values.
TIMESTAMPS = st.one_of(
    st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"]),
    st.builds(
        _iso,
        st.one_of(AWARE_MOMENTS, st.datetimes()),
        st.sampled_from(["T", " "]),
        st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"]),
    ),
    st.integers(min_value=0, max_value=10**20 - 1).map(str),
    st.builds(
        "{}.{}".format,
        st.integers(min_value=0, max_value=10**20 - 1),
        st.integers(min_value=0, max_value=10**9 - 1),
    ),
    ANY_TEXT,
    st.binary(max_size=80),
)


def _outcome(call: Callable[[], T]) -> T | VerificationError:
    # Any exception other than VerificationError propagates and fails the test.
    try:
        return call()
    except VerificationError as error:
        return error


@BOUNDED
@given(st.one_of(st.none(), TIMESTAMPS))
def test_parse_timestamp_returns_an_aware_utc_moment_or_refuses(
    text: str | bytes | None,
) -> None:
    outcome = _outcome(lambda: parse_timestamp(text))

    if isinstance(outcome, VerificationError):
        assert outcome.reason in {"bad_timestamp", "missing_timestamp"}
    else:
        assert outcome.utcoffset() == timedelta(0)


@BOUNDED
@given(AWARE_MOMENTS)
def test_an_iso_moment_parses_exactly_when_it_lies_within_the_calendar_in_utc(
    moment: datetime,
) -> None:
    try:
        expected: datetime | None = moment.astimezone(UTC)
    except OverflowError:
        expected = None

    outcome = _outcome(lambda: parse_timestamp(moment.isoformat()))

    if expected is None:
        assert isinstance(outcome, VerificationError)
        assert outcome.reason == "bad_timestamp"
    else:
        assert outcome == expected


@BOUNDED
@given(ts=MOMENTS, now=MOMENTS, tolerance=TOLERANCES)
def test_check_window_passes_or_refuses_as_stale_for_any_moments_and_tolerance(
    ts: datetime, now: datetime, tolerance: timedelta
) -> None:
    outcome = _outcome(lambda: check_window(ts, now=now, tolerance=tolerance))

    if isinstance(outcome, VerificationError):
        assert outcome.reason == "stale_timestamp"


@BOUNDED
@given(text=TIMESTAMPS, now=MOMENTS, tolerance=TOLERANCES)
def test_parsing_then_windowing_any_timestamp_raises_nothing_but_verification_error(
    text: str | bytes, now: datetime, tolerance: timedelta
) -> None:
    # The two steps every timestamped verifier runs, end to end.
    outcome = _outcome(lambda: check_window(parse_timestamp(text), now=now, tolerance=tolerance))

    assert outcome is None or isinstance(outcome, VerificationError)


@BOUNDED
@given(st.one_of(ANY_TEXT, st.binary(max_size=120)), ENCODINGS)
def test_decode_signature_of_any_text_or_bytes_is_bytes_or_refused(
    text: str | bytes, encoding: str
) -> None:
    outcome = _outcome(lambda: decode_signature(text, encoding))  # type: ignore[arg-type]

    assert isinstance(outcome, bytes | VerificationError)


@BOUNDED
@given(
    secret=st.one_of(ANY_TEXT, st.binary(max_size=64)),
    message=st.binary(max_size=256),
    signatures=st.one_of(st.none(), ANY_TEXT, st.lists(ANY_TEXT, max_size=4)),
    encoding=ENCODINGS,
)
def test_verify_hmac_sha256_with_any_secret_and_signatures_refuses_with_verification_error(
    secret: str | bytes, message: bytes, signatures: str | list[str] | None, encoding: str
) -> None:
    outcome = _outcome(
        lambda: verify_hmac_sha256(
            secret=secret,
            message=message,
            signatures=signatures,
            encoding=encoding,  # type: ignore[arg-type]
        )
    )

    assert isinstance(outcome, VerificationError)


@BOUNDED
@given(secret=st.text(max_size=64), message=st.binary(max_size=256))
def test_a_text_secret_is_keyed_as_utf_8(secret: str, message: bytes) -> None:
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()

    verify_hmac_sha256(
        secret=secret,
        message=message,
        signatures=base64.urlsafe_b64encode(digest).decode(),
        encoding="base64url",
    )


@BOUNDED
@given(st.one_of(ANY_TEXT, st.binary(max_size=80)), st.one_of(ANY_TEXT, st.binary(max_size=80)))
def test_constant_time_equals_compares_any_text_or_bytes(a: str | bytes, b: str | bytes) -> None:
    assert constant_time_equals(a, a)
    assert constant_time_equals(a, b) == constant_time_equals(b, a)


@BOUNDED
@given(st.binary(max_size=64), st.binary(max_size=256))
def test_hmac_sha256_is_total_over_bytes(secret: bytes, message: bytes) -> None:
    assert len(hmac_sha256(secret, message)) == hashlib.sha256().digest_size
