"""BILL's webhook signature (fact sheet section 11).

``x-bill-sha-signature`` is the base64 HMAC-SHA256, keyed with the subscription's
``securityKey`` as UTF-8 text, of the raw (minified JSON) request body. No timestamp is
signed, so BILL gives no replay window; duplicates are expected and carry the same
``metadata.eventId``, which is the delivery id. BILL's history endpoint shows payloads as a
JSON-escaped string; if a delivery's body is such a string, the id is read from inside it.
An ``eventId`` that is not printable text of at most 200 characters is no id: the body's
hash stands in, as for a body without one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from services.runtime.signatures import VerificationError, verify_hmac_sha256

__all__ = [
    "CONTENT_TYPES",
    "SECRET_HEADERS",
    "SIGNATURE_HEADER",
    "delivery_id",
    "notification",
    "verify",
]

SIGNATURE_HEADER: Final = "x-bill-sha-signature"
CONTENT_TYPES: Final = ("application/json",)
SECRET_HEADERS: Final = (SIGNATURE_HEADER,)
# An event id longer than this is not one of BILL's (they are UUIDs).
_MAX_ID_CHARS: Final = 200


def verify(
    *,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Sequence[tuple[str, str]] = (),  # one signature for every vendor
    now: datetime,  # BILL signs no timestamp
    tolerance: timedelta,
) -> None:
    """Pass if the raw body is signed with ``secret`` (the securityKey); else raise."""
    signature = headers.get(SIGNATURE_HEADER)
    if signature is None or not signature.strip():
        raise VerificationError("missing_signature")
    verify_hmac_sha256(secret=secret, message=body, signatures=signature, encoding="base64")


def notification(body: bytes | str) -> dict[str, Any] | None:
    """The notification's JSON object (``metadata`` + the entity), or None when it is none.

    Also when BILL sent it as a JSON-escaped string (open question 3).
    """
    try:
        payload = json.loads(body)
        if isinstance(payload, str):
            payload = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def delivery_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    """``metadata.eventId`` of the notification, or None when it has none."""
    payload = notification(body)
    metadata = payload.get("metadata") if payload is not None else None
    event_id = metadata.get("eventId") if isinstance(metadata, dict) else None
    if not isinstance(event_id, str):
        return None
    event_id = event_id.strip()
    # JSON escapes can spell NUL or a lone surrogate, which PostgreSQL text and strict
    # UTF-8 cannot hold: such an id would fail the delivery after it verified.
    if 0 < len(event_id) <= _MAX_ID_CHARS and event_id.isprintable():
        return event_id
    return None
