"""Every BILL behaviour the fact sheet leaves open or marks [inferred], as one setting each.

Defaults follow the sheet's best evidence (`../shared/vendors/bill.md`, "Open questions");
`docs/vendors/bill-sandbox.md` lists them with their sources. Verified facts are code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["BillSandboxSettings"]


class BillSandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # [V] 35 minutes of inactivity, sliding; every call resets the timer.
    session_idle_seconds: float = 35 * 60
    # [V] 20,000 requests/hour per developer key, 3 in flight per developer key per org.
    hourly_requests: int | None = 20_000
    concurrent_requests: int | None = 3
    # [V] 200 logins/hour per developer key; the refusal's code is not documented [I].
    logins_per_hour: int | None = 200
    # Open question 1: HTTP status of BDC_1144 / BDC_1322 on the core API.
    limit_status: int = 429
    # [V3p] an invalid or expired session answers 401 with BDC_1109.
    invalid_session_status: int = 401
    # [V] webhook API: a missing auth header answers 400; assumed the same on the core API [I].
    missing_header_status: int = 400
    # [V] creating payments needs an MFA-trusted session (login with rememberMeId + device).
    payments_require_trusted_session: bool = True
    # Open question 5: whether lists include archived records when no filter says so.
    lists_include_archived: bool = True
    # Open question 4: a second bill with the same vendor and invoice number.
    duplicate_invoice_number: Literal["allow", "reject"] = "allow"
    # [I] seconds on the sandbox clock from a payment's creation until it is PAID/CLEARED.
    payment_clears_after_seconds: float = 2 * 24 * 3600
    # Open question 3: the delivered body as a JSON object or as a JSON-escaped string.
    webhook_body: Literal["object", "string"] = "object"
    # Open question 2: the HMAC key is the securityKey's UTF-8 text (third-party verifiers).
    security_key_encoding: Literal["utf8", "base64"] = "utf8"
    # [V] a delivery not answered 200 within 10 s fails; [V] up to 5 resends with
    # exponential backoff (the delays themselves are [I]).
    webhook_timeout_seconds: float = 10.0
    webhook_retry_delays_seconds: tuple[float, ...] = (60, 120, 240, 480, 960)
    # [V] notification URLs must be HTTPS; at most 10 subscriptions per organization.
    require_https_notification_url: bool = True
    max_subscriptions: int = 10
