"""FreshBooks' callback verifier and handshake, against vectors computed here with hmac."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.freshbooks.webhook import delivery_id, handshake, verify
from services.runtime.signatures import VerificationError

VERIFIER = "scADVVexampleVerifier123"
FIELDS = [
    ("name", "bill.create"),
    ("object_id", "4821"),
    ("account_id", "Ab12C"),
    ("business_id", "77001"),
    ("identity_id", "90210"),
    ("user_id", "1"),
]
BODY = urlencode(FIELDS).encode()
# The sheet's worked example (section 8).
SHEET_SIGNATURE = "dd/q5oeaHM66Jcdn8iEAERKMmPyXvn2czyc57FllhZk="
NOW = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def _sign(verifier: str, fields: list[tuple[str, str]]) -> str:
    message = json.dumps(dict(fields)).encode()
    return base64.b64encode(hmac.new(verifier.encode(), message, hashlib.sha256).digest()).decode()


def _check(body: bytes, signature: str | None) -> None:
    headers = {} if signature is None else {"x-freshbooks-hmac-sha256": signature}
    verify(secret=VERIFIER, body=body, headers=headers, now=NOW, tolerance=timedelta(minutes=5))


def test_the_sheets_worked_example_is_independently_reproduced() -> None:
    assert _sign(VERIFIER, FIELDS) == SHEET_SIGNATURE


def test_a_callback_signed_over_the_json_of_its_fields_verifies() -> None:
    _check(BODY, SHEET_SIGNATURE)


def test_a_signature_over_the_raw_body_is_refused() -> None:
    raw = base64.b64encode(hmac.new(VERIFIER.encode(), BODY, hashlib.sha256).digest()).decode()
    with pytest.raises(VerificationError) as caught:
        _check(BODY, raw)
    assert caught.value.reason == "bad_signature"


def test_one_changed_body_byte_is_a_bad_signature() -> None:
    with pytest.raises(VerificationError) as caught:
        _check(BODY.replace(b"4821", b"4822"), SHEET_SIGNATURE)
    assert caught.value.reason == "bad_signature"


def test_field_order_is_part_of_what_is_signed() -> None:
    reordered = urlencode(list(reversed(FIELDS))).encode()
    with pytest.raises(VerificationError):
        _check(reordered, SHEET_SIGNATURE)


def test_non_ascii_values_are_signed_with_json_ascii_escaping() -> None:
    fields = [("name", "client.update"), ("object_id", "7"), ("note", "Café")]
    _check(urlencode(fields).encode(), _sign(VERIFIER, fields))


def test_a_missing_signature_is_refused() -> None:
    with pytest.raises(VerificationError) as caught:
        _check(BODY, None)
    assert caught.value.reason == "missing_signature"


def test_the_verification_handshake_is_recognised_with_its_callback() -> None:
    body = urlencode([("name", "callback.verify"), ("object_id", "2001"), ("verifier", "abc")])
    found = handshake(body.encode(), {})
    assert found is not None
    assert (found.verifier, found.callback_id) == ("abc", "2001")


def test_a_handshake_signed_with_the_verifier_it_carries_is_recognised() -> None:
    fields = [("name", "callback.verify"), ("object_id", "2001"), ("verifier", "abc")]
    signed = {"x-freshbooks-hmac-sha256": _sign("abc", fields)}
    found = handshake(urlencode(fields).encode(), signed)
    assert found is not None
    assert found.verifier == "abc"


def test_a_handshake_signed_with_another_key_is_not_recognised() -> None:
    fields = [("name", "callback.verify"), ("object_id", "2001"), ("verifier", "abc")]
    signed = {"x-freshbooks-hmac-sha256": _sign("someone-else", fields)}
    assert handshake(urlencode(fields).encode(), signed) is None


def test_an_ordinary_delivery_is_no_handshake() -> None:
    assert handshake(BODY, {"x-freshbooks-hmac-sha256": SHEET_SIGNATURE}) is None
    assert handshake(BODY, {}) is None


def test_freshbooks_sends_no_delivery_id_so_the_body_hash_is_used() -> None:
    assert delivery_id(BODY, {}) is None


@pytest.mark.parametrize(
    "callback_id",
    [
        "../../users/me",
        "2002?x=1",
        "2002%2F..%2Fusers",
        "2002/3",
        " 2002",
        "2002 ",
        "",
        "0",
        "02002",
        "-2002",
        "+2002",
        "2002.0",
        "1e3",
        "٢٠٠٢",  # Arabic-Indic digits: str.isdigit() would take them
        "1" * 20,
    ],
)
def test_a_handshake_whose_object_id_is_no_callback_id_is_refused(callback_id: str) -> None:
    body = urlencode([("name", "callback.verify"), ("object_id", callback_id), ("verifier", "abc")])
    with pytest.raises(VerificationError) as caught:
        handshake(body.encode(), {})
    assert caught.value.reason == "bad_signature"
    assert caught.value.detail == "the handshake's callback id is not a FreshBooks callback id"


def test_the_longest_callback_id_is_nineteen_digits() -> None:
    body = urlencode([("object_id", "9" * 19), ("verifier", "abc")])
    found = handshake(body.encode(), {})
    assert found is not None
    assert found.callback_id == "9" * 19


@pytest.mark.parametrize(
    "fields",
    [
        [("verifier", "abc")],
        [("object_id", "2001"), ("verifier", "abc"), ("object_id", "../users/me")],
        [("object_id", "2001"), ("verifier", "abc"), ("verifier", "def")],
    ],
)
def test_a_handshake_without_exactly_one_callback_id_and_verifier_is_refused(
    fields: list[tuple[str, str]],
) -> None:
    with pytest.raises(VerificationError) as caught:
        handshake(urlencode(fields).encode(), {})
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("verifier", ["", " abc", "abc\n", "a b", "vérifier", "\x00abc", "v" * 201])
def test_a_handshake_whose_verifier_is_implausible_is_refused(verifier: str) -> None:
    body = urlencode([("name", "callback.verify"), ("object_id", "2001"), ("verifier", verifier)])
    with pytest.raises(VerificationError) as caught:
        handshake(body.encode(), {})
    assert caught.value.reason == "bad_signature"
    assert caught.value.detail == "the handshake's verifier is not a FreshBooks verifier"


def test_a_sandbox_shaped_verifier_is_accepted() -> None:
    # The sandbox draws secrets.token_urlsafe(18); this is one such value.
    verifier = "Zx-3_qL9aB0cD1eF2gH3iJ4k"
    body = urlencode([("name", "callback.verify"), ("object_id", "7"), ("verifier", verifier)])
    found = handshake(body.encode(), {})
    assert found is not None
    assert (found.verifier, found.callback_id) == (verifier, "7")


@given(body=st.binary(max_size=512), signature=st.text(max_size=80), secret=st.text(max_size=40))
def test_random_input_raises_nothing_but_verification_error(
    body: bytes, signature: str, secret: str
) -> None:
    # Anything but a VerificationError escaping fails the test.
    with contextlib.suppress(VerificationError):
        handshake(body, {})
    with contextlib.suppress(VerificationError):
        verify(
            secret=secret,
            body=body,
            headers={"x-freshbooks-hmac-sha256": signature},
            now=NOW,
            tolerance=timedelta(minutes=5),
        )
