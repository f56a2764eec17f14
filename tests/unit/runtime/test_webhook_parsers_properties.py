"""Every vendor's webhook verifier and request parser, on arbitrary and on correctly signed input.

Whatever reaches the intake (any header names and values, any body, any query) and whatever
the intake passes along (any secret, clock reading and tolerance), a vendor's ``verify``
returns or raises :class:`VerificationError`, its ``delivery_id`` returns a printable id or
None, and FreshBooks' ``handshake`` returns a well-formed handshake, None, or raises
VerificationError. The correctly signed strategies get past the signature check, so the
timestamp parsing and window check behind it are reached with any timestamp. Runs are
bounded and derandomized: CI sees the same examples every time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.bamboohr import webhook as bamboohr
from services.bill import webhook as bill
from services.freshbooks import webhook as freshbooks
from services.ingest.registry import VENDORS, WebhookScheme
from services.runtime.signatures import VerificationError
from services.zoho import webhook as zoho

T = TypeVar("T")

BOUNDED = settings(max_examples=200, deadline=None, derandomize=True, database=None)
VENDOR_NAMES = sorted(VENDORS)

# --- strategies -------------------------------------------------------------------------------

# Lone surrogates included (st.text() leaves them out): a str need not be UTF-8.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=60)
# What an HTTP server hands over as a header value: bytes decoded as latin-1.
LATIN1_TEXT = st.text(st.characters(max_codepoint=0xFF), max_size=60)
# Text a form or JSON body can carry (a body is bytes: no lone surrogates).
WIRE_TEXT = st.text(max_size=30)

OFFSETS = st.integers(min_value=-86_399, max_value=86_399).map(
    lambda seconds: timezone(timedelta(seconds=seconds))
)
NEAR_THE_ENDS = st.one_of(
    st.datetimes(min_value=datetime(9999, 12, 31), timezones=OFFSETS),
    st.datetimes(max_value=datetime(1, 1, 1, 23, 59, 59, 999999), timezones=OFFSETS),
)
AWARE_MOMENTS = st.one_of(NEAR_THE_ENDS, st.datetimes(timezones=OFFSETS))
MOMENTS = st.one_of(
    st.sampled_from([datetime.min, datetime.max]),
    AWARE_MOMENTS,
    st.datetimes(),
)
TOLERANCES = st.one_of(
    st.sampled_from([timedelta.min, timedelta.max, timedelta(0), timedelta(minutes=5)]),
    st.timedeltas(),
)
TIMESTAMPS = st.one_of(
    st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"]),
    st.one_of(AWARE_MOMENTS, st.datetimes()).map(datetime.isoformat),
    st.integers(min_value=0, max_value=10**20 - 1).map(str),
    st.builds(
        "{}.{}".format,
        st.integers(min_value=0, max_value=10**20 - 1),
        st.integers(min_value=0, max_value=10**9 - 1),
    ),
    LATIN1_TEXT,
    ANY_TEXT,
)
SIGNATURE_LIKE = st.one_of(
    st.binary(max_size=40).map(bytes.hex),
    st.binary(max_size=40).map(lambda raw: base64.b64encode(raw).decode()),
    st.binary(max_size=40).map(lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded; charset=utf-8",
            "",
        ]
    ),
    LATIN1_TEXT,
)
REAL_HEADER_NAMES = sorted(
    {name for scheme in VENDORS.values() for name in scheme.secret_headers}
    | {bamboohr.TIMESTAMP_HEADER, "content-type"}
)
HEADERS = st.dictionaries(
    st.one_of(st.sampled_from(REAL_HEADER_NAMES), ANY_TEXT),
    st.one_of(ANY_TEXT, LATIN1_TEXT, SIGNATURE_LIKE, TIMESTAMPS, CONTENT_TYPES),
    max_size=6,
)
QUERIES = st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=4)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WIRE_TEXT, inner, max_size=4),
    max_leaves=10,
)
# BILL's shape with any eventId: json.dumps escapes lone surrogates, so they arrive as \udXXX.
BILL_LIKE = st.builds(
    lambda event_id, rest: {"metadata": {"eventId": event_id}, **rest},
    JSON_VALUES,
    st.dictionaries(WIRE_TEXT, JSON_VALUES, max_size=3),
)
JSON_BODIES = st.one_of(JSON_VALUES, BILL_LIKE).flatmap(
    lambda value: st.sampled_from(
        [json.dumps(value).encode(), json.dumps(json.dumps(value)).encode()]
    )
)
FIELD_NAMES = st.one_of(st.sampled_from(["name", "object_id", "verifier", "account_id"]), WIRE_TEXT)
FORMS = st.lists(st.tuples(FIELD_NAMES, WIRE_TEXT), max_size=8)
FORM_BODIES = FORMS.map(lambda fields: urlencode(fields).encode())


@st.composite
def _near(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> bytes:
    """A body as built, or cut short, or with one byte changed: near-valid JSON or form."""
    body = draw(bodies)
    how = draw(st.sampled_from(["as built", "cut", "changed"]))
    if how == "as built" or not body:
        return body
    at = draw(st.integers(min_value=0, max_value=len(body) - 1))
    if how == "cut":
        return body[:at]
    return body[:at] + bytes([draw(st.integers(min_value=0, max_value=255))]) + body[at + 1 :]


BODIES = st.one_of(st.binary(max_size=300), _near(JSON_BODIES), _near(FORM_BODIES))


def _outcome(call: Callable[[], T]) -> T | VerificationError:
    # Any exception other than VerificationError propagates and fails the test.
    try:
        return call()
    except VerificationError as error:
        return error


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# --- every vendor, arbitrary input --------------------------------------------------------------


def test_every_vendor_the_intake_accepts_is_covered_here() -> None:
    covered = {"bamboohr": bamboohr, "bill": bill, "freshbooks": freshbooks, "zoho": zoho}
    assert {name: VENDORS[name].verify for name in VENDORS} == {
        name: module.verify for name, module in covered.items()
    }


@pytest.mark.parametrize("vendor", VENDOR_NAMES)
@BOUNDED
@given(
    secret=ANY_TEXT,
    body=BODIES,
    headers=HEADERS,
    query=QUERIES,
    now=MOMENTS,
    tolerance=TOLERANCES,
)
def test_any_request_is_verified_or_refused_with_verification_error(
    vendor: str,
    *,
    secret: str,
    body: bytes,
    headers: dict[str, str],
    query: list[tuple[str, str]],
    now: datetime,
    tolerance: timedelta,
) -> None:
    scheme: WebhookScheme = VENDORS[vendor]

    outcome = _outcome(
        lambda: scheme.verify(
            secret=secret, body=body, headers=headers, query=query, now=now, tolerance=tolerance
        )
    )

    assert outcome is None or isinstance(outcome, VerificationError)


@pytest.mark.parametrize("vendor", VENDOR_NAMES)
@BOUNDED
@given(body=BODIES, headers=HEADERS)
def test_any_request_has_a_printable_bounded_delivery_id_or_none(
    vendor: str, body: bytes, headers: dict[str, str]
) -> None:
    found = VENDORS[vendor].delivery_id(body, headers)

    if found is not None:
        assert vendor == "bill"
        assert 0 < len(found) <= 200
        assert found.isprintable()
        assert found == found.strip()


@BOUNDED
@given(
    event_id=st.one_of(
        ANY_TEXT, st.text(max_size=210), st.sampled_from(["\x00", "a\x00b", "\ud800"])
    ),
    as_string=st.booleans(),
)
def test_a_bill_event_id_is_the_delivery_id_only_when_printable_and_bounded(
    event_id: str, as_string: bool
) -> None:
    # json.dumps escapes what the wire cannot carry; json.loads gives it back as it was.
    body = json.dumps({"metadata": {"eventId": event_id}})
    if as_string:
        body = json.dumps(body)
    trimmed = event_id.strip()
    expected = trimmed if 0 < len(trimmed) <= 200 and trimmed.isprintable() else None

    assert bill.delivery_id(body.encode(), {}) == expected


@BOUNDED
@given(body=st.one_of(BODIES, _near(FORM_BODIES)), headers=HEADERS)
def test_any_freshbooks_request_is_a_well_formed_handshake_none_or_refused(
    body: bytes, headers: dict[str, str]
) -> None:
    reader = VENDORS["freshbooks"].handshake
    assert reader is not None

    for read in (freshbooks.handshake, reader):
        outcome = _outcome(lambda read=read: read(body, headers))  # type: ignore[misc]

        if isinstance(outcome, VerificationError):
            assert outcome.reason == "bad_signature"
        elif outcome is not None:
            assert freshbooks.CALLBACK_ID_SHAPE.fullmatch(outcome.callback_id)
            assert freshbooks.VERIFIER_SHAPE.fullmatch(outcome.verifier)


@BOUNDED
@given(body=BODIES)
def test_any_body_is_freshbooks_form_fields_with_a_signed_message_or_refused(body: bytes) -> None:
    outcome = _outcome(lambda: freshbooks.form_fields(body))

    if not isinstance(outcome, VerificationError):
        assert all(isinstance(n, str) and isinstance(v, str) for n, v in outcome)
        assert isinstance(freshbooks.signed_message(outcome), bytes)


@BOUNDED
@given(query=QUERIES, body=BODIES, headers=HEADERS)
def test_any_request_is_a_zoho_signed_message_or_refused(
    query: list[tuple[str, str]], body: bytes, headers: dict[str, str]
) -> None:
    outcome = _outcome(lambda: zoho.signed_message(query=query, body=body, headers=headers))

    assert isinstance(outcome, bytes | VerificationError)


# --- correctly signed, so what lies behind the signature check is reached -----------------------


def _bamboohr_headers(secret: str, body: bytes, stamp: str, case: str) -> dict[str, str]:
    try:
        signed = stamp.encode("latin-1")
    except UnicodeEncodeError:
        signed = stamp.encode("utf-8", "surrogatepass")  # refused before the signature anyway
    signature = hmac.new(secret.encode(), body + signed, hashlib.sha256).hexdigest()
    return {
        bamboohr.SIGNATURE_HEADER: signature.upper() if case == "upper" else signature,
        bamboohr.TIMESTAMP_HEADER: stamp,
    }


@BOUNDED
@given(
    secret=st.text(max_size=40),
    body=BODIES,
    stamp=TIMESTAMPS,
    case=st.sampled_from(["lower", "upper"]),
    now=MOMENTS,
    tolerance=TOLERANCES,
)
def test_a_signed_bamboohr_delivery_with_any_timestamp_passes_or_is_a_timestamp_refusal(
    *, secret: str, body: bytes, stamp: str, case: str, now: datetime, tolerance: timedelta
) -> None:
    headers = _bamboohr_headers(secret, body, stamp, case)

    outcome = _outcome(
        lambda: bamboohr.verify(
            secret=secret, body=body, headers=headers, now=now, tolerance=tolerance
        )
    )

    if outcome is not None:
        assert outcome.reason in {"bad_timestamp", "stale_timestamp", "missing_timestamp"}


@BOUNDED
@given(
    secret=st.text(max_size=40),
    body=BODIES,
    moment=AWARE_MOMENTS,
    shift=st.one_of(
        st.none(), st.timedeltas(min_value=timedelta(hours=-1), max_value=timedelta(hours=1))
    ),
    any_now=MOMENTS,
    tolerance=st.one_of(
        TOLERANCES, st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=1))
    ),
)
def test_a_signed_bamboohr_iso_timestamp_is_judged_by_its_instant_in_utc(
    *,
    secret: str,
    body: bytes,
    moment: datetime,
    shift: timedelta | None,
    any_now: datetime,
    tolerance: timedelta,
) -> None:
    stamp = moment.isoformat()
    headers = _bamboohr_headers(secret, body, stamp, "lower")
    try:
        instant: datetime | None = moment.astimezone(UTC)
    except OverflowError:  # off the calendar in UTC: the two examples are such
        instant = None
    now = any_now
    if instant is not None and shift is not None:
        # Near the timestamp, so that both sides of the window are exercised.
        try:
            now = instant + shift
        except OverflowError:
            now = any_now

    outcome = _outcome(
        lambda: bamboohr.verify(
            secret=secret, body=body, headers=headers, now=now, tolerance=tolerance
        )
    )

    if instant is None:
        assert isinstance(outcome, VerificationError)
        assert outcome.reason == "bad_timestamp"
    elif abs(_as_utc(now) - instant) <= tolerance:
        assert outcome is None
    else:
        assert isinstance(outcome, VerificationError)
        assert outcome.reason == "stale_timestamp"


def _freshbooks_signature(secret: str, fields: list[tuple[str, str]]) -> str:
    message = json.dumps(dict(fields)).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@BOUNDED
@given(secret=st.text(max_size=40), fields=FORMS, now=MOMENTS, tolerance=TOLERANCES)
def test_a_freshbooks_callback_signed_over_any_fields_verifies(
    secret: str, fields: list[tuple[str, str]], now: datetime, tolerance: timedelta
) -> None:
    headers = {freshbooks.SIGNATURE_HEADER: _freshbooks_signature(secret, fields)}

    freshbooks.verify(
        secret=secret,
        body=urlencode(fields).encode(),
        headers=headers,
        now=now,
        tolerance=tolerance,
    )


@BOUNDED
@given(
    callback_id=st.one_of(
        st.integers(min_value=0, max_value=10**21).map(str), WIRE_TEXT, st.just(" 2001")
    ),
    verifier=st.one_of(
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=210), WIRE_TEXT
    ),
    signed=st.booleans(),
)
def test_a_handshake_with_any_callback_id_is_read_only_when_both_values_are_shaped(
    callback_id: str, verifier: str, signed: bool
) -> None:
    fields = [("name", "callback.verify"), ("object_id", callback_id), ("verifier", verifier)]
    headers: Mapping[str, str] = (
        {freshbooks.SIGNATURE_HEADER: _freshbooks_signature(verifier, fields)} if signed else {}
    )

    outcome = _outcome(lambda: freshbooks.handshake(urlencode(fields).encode(), headers))

    shaped = bool(
        freshbooks.CALLBACK_ID_SHAPE.fullmatch(callback_id)
        and freshbooks.VERIFIER_SHAPE.fullmatch(verifier)
    )
    if shaped:
        assert isinstance(outcome, freshbooks.Handshake)
        assert (outcome.callback_id, outcome.verifier) == (callback_id, verifier)
    else:
        assert isinstance(outcome, VerificationError)
        assert outcome.reason == "bad_signature"


@BOUNDED
@given(secret=st.text(max_size=40), body=BODIES, now=MOMENTS, tolerance=TOLERANCES)
def test_a_bill_body_signed_with_its_security_key_verifies_whatever_it_holds(
    secret: str, body: bytes, now: datetime, tolerance: timedelta
) -> None:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    headers = {bill.SIGNATURE_HEADER: base64.b64encode(digest).decode()}

    bill.verify(secret=secret, body=body, headers=headers, now=now, tolerance=tolerance)


@BOUNDED
@given(
    secret=st.text(max_size=40),
    query=st.lists(st.tuples(WIRE_TEXT, WIRE_TEXT), max_size=4),
    form=st.one_of(st.none(), FORMS),
    raw=BODIES,
    now=MOMENTS,
    tolerance=TOLERANCES,
)
def test_a_zoho_request_signed_over_its_sorted_pairs_verifies_whatever_it_holds(
    *,
    secret: str,
    query: list[tuple[str, str]],
    form: list[tuple[str, str]] | None,
    raw: bytes,
    now: datetime,
    tolerance: timedelta,
) -> None:
    if form is None:
        content_type, body, pairs, tail = "application/json", raw, query, raw
    else:
        content_type, body = zoho.FORM, urlencode(form).encode()
        pairs, tail = query + form, b""
    ordered = sorted(pairs, key=lambda pair: pair[0])
    message = "".join(key + value for key, value in ordered).encode() + tail
    headers: dict[str, Any] = {
        "content-type": content_type,
        zoho.SIGNATURE_HEADER: hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
    }

    zoho.verify(
        secret=secret, body=body, headers=headers, query=query, now=now, tolerance=tolerance
    )
