"""Zoho Books' webhook signature (fact sheet section 9; open question 3).

Books accepts a webhook ``secret`` (12-50 alphanumerics) but does not document how it
signs. We verify the scheme Zoho documents for its sibling Zoho Billing, which the sheet
names as the likely one: ``X-Zoho-Webhook-Signature`` = hex HMAC-SHA256, keyed with the
secret as UTF-8, of the query-string and form key/value pairs sorted by key and
concatenated as ``keyvalue...``, followed by the raw body for a JSON (or raw) body. For a
form body the pairs are the message and nothing follows. No timestamp and no delivery id
are sent, so the body's hash is the delivery id and there is no replay window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl

from services.runtime.signatures import VerificationError, verify_hmac_sha256

__all__ = [
    "CONTENT_TYPES",
    "SECRET_HEADERS",
    "SIGNATURE_HEADER",
    "delivery_id",
    "signed_message",
    "verify",
]

SIGNATURE_HEADER: Final = "x-zoho-webhook-signature"
FORM: Final = "application/x-www-form-urlencoded"
CONTENT_TYPES: Final = ("application/json", FORM)
SECRET_HEADERS: Final = (SIGNATURE_HEADER,)
_MAX_FIELDS: Final = 1000


def _content_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def signed_message(
    *, query: Sequence[tuple[str, str]], body: bytes, headers: Mapping[str, str]
) -> bytes:
    """Sorted ``keyvalue`` pairs of the query (and a form body), then a non-form raw body."""
    pairs = list(query)
    tail = body
    if _content_type(headers) == FORM:
        try:
            pairs += parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                errors="strict",
                max_num_fields=_MAX_FIELDS,
            )
        except (UnicodeDecodeError, ValueError):
            raise VerificationError("bad_signature", "the body is not a UTF-8 form") from None
        tail = b""
    pairs.sort(key=lambda pair: pair[0])
    try:
        prefix = "".join(f"{key}{value}" for key, value in pairs).encode("utf-8")
    except UnicodeEncodeError:
        raise VerificationError("bad_signature", "the query is not UTF-8 text") from None
    return prefix + tail


def verify(
    *,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Sequence[tuple[str, str]] = (),
    now: datetime,  # Zoho signs no timestamp
    tolerance: timedelta,
) -> None:
    """Pass if the request is signed with ``secret``; else raise :class:`VerificationError`."""
    signature = headers.get(SIGNATURE_HEADER)
    if signature is None or not signature.strip():
        raise VerificationError("missing_signature")
    message = signed_message(query=query, body=body, headers=headers)
    verify_hmac_sha256(secret=secret, message=message, signatures=signature, encoding="hex")


def delivery_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    """Zoho Books sends no delivery id; None means "use the body's hash"."""
    return None
