"""FreshBooks' webhook signature, written from the fact sheet (section 8), independent of services/.

`X-FreshBooks-Hmac-SHA256` = base64(HMAC-SHA256(key=verifier, msg=json.dumps of the form
fields as a dict of strings, in body order, with Python's default separators and ASCII
escaping)). The raw body is NOT what is signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from urllib.parse import urlencode

__all__ = ["SIGNATURE_HEADER", "form_body", "signature", "signed_message"]

SIGNATURE_HEADER = "X-FreshBooks-Hmac-SHA256"


def form_body(fields: Sequence[tuple[str, str]]) -> bytes:
    """The `application/x-www-form-urlencoded` body FreshBooks posts, fields in order."""
    return urlencode(list(fields)).encode("ascii")


def signed_message(fields: Sequence[tuple[str, str]]) -> bytes:
    """The exact bytes that are HMAC'd: `json.dumps({k: str(v)})` with default separators."""
    return json.dumps({key: str(value) for key, value in fields}).encode("utf-8")


def signature(verifier: str, fields: Sequence[tuple[str, str]]) -> str:
    """The header value for a delivery of `fields` to a callback whose verifier is `verifier`."""
    digest = hmac.new(verifier.encode("utf-8"), signed_message(fields), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
