"""FreshBooks' webhook callbacks: the signature and the verification handshake (sheet section 8).

Deliveries are form-encoded (``name``, ``object_id``, ``account_id``, ``business_id``,
``identity_id``, ``user_id``). ``X-FreshBooks-Hmac-SHA256`` is the base64 HMAC-SHA256,
keyed with the callback's verifier as UTF-8, of **not the raw body** but
``json.dumps({k: str(v) for k, v in fields})``: the form fields as a dict in body order,
Python's default separators and ASCII escaping. There is no timestamp, so no replay window;
there is no delivery id either, so the signed message's hash stands in for one.

The handshake: right after a callback is registered FreshBooks POSTs a form with
``verifier=<code>`` and ``object_id=<callbackid>``. The verifier is the callback's secret;
the registration step confirms it with ``PUT .../callbacks/{id}``. Whether the handshake is
itself signed is an open question of the sheet (the sandbox signs it with the verifier it
carries), so it is recognised by its ``verifier`` field, and if it carries a signature,
that signature must verify with that verifier (else it is no handshake: ``None``).

Anyone can send a handshake, and its ``object_id`` reaches a FreshBooks URL and the
store's credential names, so a form carrying ``verifier`` must carry exactly one
``verifier`` and one ``object_id``, the id shaped as :data:`CALLBACK_ID_SHAPE` (as sent:
no whitespace trimmed) and the verifier as :data:`VERIFIER_SHAPE`. Otherwise
:func:`handshake` raises ``VerificationError("bad_signature", <detail>)``, whose detail
names the fault and never echoes the value; the intake answers it as a bad handshake.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl

from services.runtime.signatures import VerificationError, verify_hmac_sha256

__all__ = [
    "CALLBACK_ID_SHAPE",
    "CONTENT_TYPES",
    "SECRET_HEADERS",
    "SIGNATURE_HEADER",
    "VERIFIER_SHAPE",
    "Handshake",
    "delivery_id",
    "form_fields",
    "handshake",
    "signed_message",
    "verify",
]

SIGNATURE_HEADER: Final = "x-freshbooks-hmac-sha256"
CONTENT_TYPES: Final = ("application/x-www-form-urlencoded",)
SECRET_HEADERS: Final = (SIGNATURE_HEADER,)
# A form body larger than this many fields is not a FreshBooks callback.
_MAX_FIELDS: Final = 100
# Callback ids are positive integers: "callbackid": 2001 (sheet section 8), 123-125 in the
# SDK's recorded responses (reference/freshbooks/python-sdk-fixtures/get_callback_response.json,
# list_callbacks_response.json), the sandbox's integer counter. ASCII digits without sign,
# leading zero or whitespace, at most 19 (any 64-bit id): a subset of what the client's
# numeric_id lets into a URL.
CALLBACK_ID_SHAPE: Final = re.compile(r"[1-9][0-9]{0,18}")
# Verifiers seen: "scADVVexampleVerifier123" (sheet section 8), secrets.token_urlsafe(18)
# (sandbox). Visible ASCII, as long as the intake lets any id be: the verifier becomes an
# HMAC key, a stored credential and the body of our confirming PUT.
VERIFIER_SHAPE: Final = re.compile(r"[\x21-\x7e]{1,200}")


@dataclass(frozen=True, slots=True)
class Handshake:
    """A callback's verification request: the code to confirm, and for which callback."""

    verifier: str
    callback_id: str


def form_fields(body: bytes) -> list[tuple[str, str]]:
    """The form fields in body order; a body that is not a UTF-8 form is a ``bad_signature``."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise VerificationError("bad_signature", "the body is not a UTF-8 form") from None


def signed_message(fields: Sequence[tuple[str, str]]) -> bytes:
    """What FreshBooks HMACs: the fields as a JSON object of strings, Python's json.dumps form."""
    return json.dumps(dict(fields)).encode("utf-8")


def verify(
    *,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Sequence[tuple[str, str]] = (),  # one signature for every vendor
    now: datetime,  # FreshBooks sends no timestamp
    tolerance: timedelta,
) -> None:
    """Pass if the callback is signed with ``secret`` (the verifier); else raise."""
    signature = headers.get(SIGNATURE_HEADER)
    if signature is None or not signature.strip():
        raise VerificationError("missing_signature")
    message = signed_message(form_fields(body))
    verify_hmac_sha256(secret=secret, message=message, signatures=signature, encoding="base64")


def handshake(body: bytes, headers: Mapping[str, str]) -> Handshake | None:
    """The verification request this body is, or None for an ordinary delivery.

    A form carrying ``verifier`` is the handshake, unsigned or signed with that verifier;
    one whose callback id or verifier is malformed raises ``VerificationError`` with
    reason ``bad_signature`` (see the module docstring).
    """
    try:
        fields = form_fields(body)
    except VerificationError:
        return None
    verifiers = [value for name, value in fields if name == "verifier"]
    if not verifiers:
        return None
    callback_ids = [value for name, value in fields if name == "object_id"]
    if len(verifiers) != 1 or len(callback_ids) != 1:
        # FreshBooks sends each once; with two, which one is meant would be a guess.
        raise VerificationError(
            "bad_signature", "the handshake must carry one verifier and one object_id"
        )
    [verifier], [callback_id] = verifiers, callback_ids
    if CALLBACK_ID_SHAPE.fullmatch(callback_id) is None:
        raise VerificationError(
            "bad_signature", "the handshake's callback id is not a FreshBooks callback id"
        )
    if VERIFIER_SHAPE.fullmatch(verifier) is None:
        raise VerificationError(
            "bad_signature", "the handshake's verifier is not a FreshBooks verifier"
        )
    signature = headers.get(SIGNATURE_HEADER)
    if signature:
        try:
            verify_hmac_sha256(
                secret=verifier,
                message=signed_message(fields),
                signatures=signature,
                encoding="base64",
            )
        except VerificationError:
            return None
    return Handshake(verifier=verifier, callback_id=callback_id)


def delivery_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    """FreshBooks sends no delivery id; None means "use the body's hash"."""
    return None
