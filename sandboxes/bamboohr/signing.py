"""BambooHR's webhook signature, written from the fact sheet (imports nothing of `services/`).

`X-BambooHR-Signature` = lowercase hex HMAC-SHA256, key = the webhook's `privateKey` as UTF-8,
message = the raw body bytes immediately followed by the `X-BambooHR-Timestamp` header bytes
(no separator). Sheet section 11 ("Headers and signature"); the sheet's test vector is in
tests/sandboxes/bamboohr.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "USER_AGENT", "sign"]

SIGNATURE_HEADER = "X-BambooHR-Signature"
TIMESTAMP_HEADER = "X-BambooHR-Timestamp"
USER_AGENT = "BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)"


def sign(*, body: bytes, timestamp: str, private_key: str) -> str:
    """The signature BambooHR puts in `X-BambooHR-Signature` for this body and timestamp."""
    message = body + timestamp.encode("utf-8")
    return hmac.new(private_key.encode("utf-8"), message, hashlib.sha256).hexdigest()
