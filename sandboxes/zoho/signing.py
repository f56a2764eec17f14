"""How the sandbox signs Zoho Books webhooks (independent of `services/`).

Books accepts a webhook `secret` but does not document its signature (sheet section 9, open
question 3). The default scheme is the one Zoho documents for its sibling Zoho Billing:
HMAC-SHA256 keyed with the secret over the query-string and form key/value pairs sorted by
key and concatenated as `keyvalue...`, followed by the raw body (for a JSON/raw body), sent
in `X-Zoho-Webhook-Signature`. `body` signs the raw body alone. Both the header name and the
hex/base64 encoding are settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Literal

__all__ = ["billing_message", "sign"]


def billing_message(
    *, params: Iterable[tuple[str, str]], form: Iterable[tuple[str, str]], body: bytes
) -> bytes:
    """Sorted `keyvalue` pairs of query and form, then the raw body (empty for forms)."""
    pairs = sorted([*params, *form], key=lambda pair: pair[0])
    return "".join(f"{key}{value}" for key, value in pairs).encode("utf-8") + body


def sign(*, secret: str, message: bytes, encoding: Literal["hex", "base64"] = "hex") -> str:
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256)
    if encoding == "base64":
        return base64.b64encode(digest.digest()).decode("ascii")
    return digest.hexdigest()
