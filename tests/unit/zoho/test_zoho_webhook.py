"""Zoho Books' webhook verifier (Zoho Billing's documented scheme), vectors computed with hmac."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.signatures import VerificationError
from services.zoho.webhook import delivery_id, verify

SECRET = "abcDEF123456secret"
JSON_BODY = b'{"contact":{"contact_id":"460000000026049","contact_name":"Acme"}}'
NOW = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def _sign(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def _check(
    body: bytes, headers: dict[str, str], query: list[tuple[str, str]] | None = None
) -> None:
    verify(
        secret=SECRET,
        body=body,
        headers=headers,
        query=query or [],
        now=NOW,
        tolerance=timedelta(0),
    )


def test_a_json_body_with_sorted_query_pairs_before_it_verifies() -> None:
    query = [("zeta", "1"), ("alpha", "2")]
    signature = _sign(b"alpha2zeta1" + JSON_BODY)
    headers = {"content-type": "application/json", "x-zoho-webhook-signature": signature}
    _check(JSON_BODY, headers, query)


def test_a_json_body_without_query_is_signed_alone() -> None:
    headers = {"content-type": "application/json", "x-zoho-webhook-signature": _sign(JSON_BODY)}
    _check(JSON_BODY, headers)


def test_a_form_body_is_signed_as_its_sorted_pairs_only() -> None:
    form = [("name", "Acme"), ("id", "46")]
    signature = _sign(b"id46nameAcme")
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-zoho-webhook-signature": signature,
    }
    _check(urlencode(form).encode(), headers)


def test_one_changed_body_byte_is_a_bad_signature() -> None:
    headers = {"content-type": "application/json", "x-zoho-webhook-signature": _sign(JSON_BODY)}
    with pytest.raises(VerificationError) as caught:
        _check(JSON_BODY.replace(b"Acme", b"Acmf"), headers)
    assert caught.value.reason == "bad_signature"


def test_a_dropped_query_pair_is_a_bad_signature() -> None:
    signature = _sign(b"alpha2" + JSON_BODY)
    headers = {"content-type": "application/json", "x-zoho-webhook-signature": signature}
    with pytest.raises(VerificationError):
        _check(JSON_BODY, headers)


def test_a_missing_signature_is_refused() -> None:
    with pytest.raises(VerificationError) as caught:
        _check(JSON_BODY, {"content-type": "application/json"})
    assert caught.value.reason == "missing_signature"


def test_zoho_sends_no_delivery_id_so_the_body_hash_is_used() -> None:
    assert delivery_id(JSON_BODY, {}) is None


@given(
    body=st.binary(max_size=512),
    signature=st.text(max_size=80),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""]),
    query=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=4),
)
def test_random_input_raises_nothing_but_verification_error(
    body: bytes, signature: str, content_type: str, query: list[tuple[str, str]]
) -> None:
    headers = {"content-type": content_type, "x-zoho-webhook-signature": signature}
    # Anything but a VerificationError escaping fails the test.
    with contextlib.suppress(VerificationError):
        _check(body, headers, query)
