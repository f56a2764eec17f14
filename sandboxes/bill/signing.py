"""BILL's webhook signature, written from the fact sheet (imports nothing of `services/`).

`x-bill-sha-signature` = base64( HMAC-SHA256( key = the subscription's `securityKey`,
message = the raw notification body bytes ) ). Sheet section 11; the key is used as UTF-8
text (open question 2, setting `security_key_encoding`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

__all__ = ["SIGNATURE_HEADER", "sign"]

SIGNATURE_HEADER = "x-bill-sha-signature"


def sign(
    *, body: bytes, security_key: str, key_encoding: Literal["utf8", "base64"] = "utf8"
) -> str:
    """The value BILL puts in `x-bill-sha-signature` for this body."""
    key = (
        base64.b64decode(security_key) if key_encoding == "base64" else security_key.encode("utf-8")
    )
    digest = hmac.new(key, body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
