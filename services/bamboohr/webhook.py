"""BambooHR's webhook signature (fact sheet section 11, "Headers and signature").

``X-BambooHR-Signature`` is the lowercase hex HMAC-SHA256, keyed with the webhook's
``privateKey`` as UTF-8, of the raw body bytes **immediately followed by** the
``X-BambooHR-Timestamp`` header bytes (no separator; guides that sign
``timestamp + "." + body`` are wrong). The timestamp is signed as sent and parsed only
for the age check (epoch seconds seen in captures, ISO-8601 in one example).
BambooHR documents no replay window, so the caller's tolerance is ours.
Deliveries carry no event id: a retry resends the same bytes, so the body hash is the
delivery id (the payload holds the event's own timestamp).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

from services.runtime.signatures import (
    VerificationError,
    check_window,
    parse_timestamp,
    verify_hmac_sha256,
)

__all__ = [
    "CONTENT_TYPES",
    "SECRET_HEADERS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "delivery_id",
    "verify",
]

SIGNATURE_HEADER: Final = "x-bamboohr-signature"
TIMESTAMP_HEADER: Final = "x-bamboohr-timestamp"
# A webhook is created with format "json" or "form-encoded".
CONTENT_TYPES: Final = ("application/json", "application/x-www-form-urlencoded")
SECRET_HEADERS: Final = (SIGNATURE_HEADER,)


def verify(
    *,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Sequence[tuple[str, str]] = (),  # one signature for every vendor
    now: datetime,
    tolerance: timedelta,
) -> None:
    """Pass if the delivery is BambooHR's and fresh; else raise :class:`VerificationError`.

    ``headers`` is looked up by lowercase name (Starlette's ``Headers`` is case-insensitive).
    """
    signature = headers.get(SIGNATURE_HEADER)
    if signature is None or not signature.strip():
        raise VerificationError("missing_signature")
    timestamp = headers.get(TIMESTAMP_HEADER)
    if timestamp is None or not timestamp.strip():
        raise VerificationError("missing_timestamp")
    try:
        # HTTP header values arrive as latin-1 text: this gives back the bytes as sent.
        message = body + timestamp.encode("latin-1")
    except UnicodeEncodeError:
        raise VerificationError("bad_timestamp", "the timestamp is not text") from None
    verify_hmac_sha256(secret=secret, message=message, signatures=signature, encoding="hex")
    check_window(parse_timestamp(timestamp), now=now, tolerance=tolerance)


def delivery_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    """BambooHR sends no delivery id; None means "use the body's hash".

    Its bodies carry whole seconds, so two changes of the same fields of one employee in
    one second (a termination undone at once) read as one delivery: the second is made
    good by the next reconcile, which re-reads everyone.
    """
    return None
