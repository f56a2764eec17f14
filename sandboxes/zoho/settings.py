"""Every Zoho Books behaviour the fact sheet marks [I] or leaves open, one setting each.

Section numbers refer to `../shared/vendors/zoho-books.md`; `docs/vendors/zoho-sandbox.md`
lists each setting with its source. Verified facts are code, not settings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ZohoSandboxSettings"]


class ZohoSandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # The default account's home data centre (a location code of regions.REGIONS).
    region: str = "eu"
    # [V] section 2: codes live 60 s, access tokens 3600 s, refresh tokens until revoked.
    code_ttl_seconds: float = 60.0
    access_token_ttl_seconds: float = 3600.0
    # [V] 20 refresh tokens per user (the 21st evicts the oldest); [I] for Books: 30 live
    # access tokens per refresh token and 5 refresh-token creations per minute.
    max_refresh_tokens_per_user: int = 20
    max_access_tokens_per_refresh_token: int = 30
    max_refresh_token_creations_per_minute: int = 5
    # [V3p] token endpoint errors come back as HTTP 200 with {"error": ...}.
    token_error_status: int = 200
    # Open question 1b: expired, revoked, unknown or under-scoped tokens -> 401 + code 57.
    invalid_token_status: int = 401
    invalid_token_code: int = 57
    invalid_token_message: str = "You are not authorized to perform this operation"
    # Open question 1a: a missing organization_id; the sheet has no code, 6041 is its kin.
    missing_org_status: int = 400
    missing_org_code: int = 6041
    missing_org_message: str = "This user is not associated with the CompanyID/CompanyName:."
    # Open question 6: HTTP status that accompanies code 1002 (does not exist).
    not_found_status: Literal[400, 404] = 404
    # Open question 2: per_page above 200 is capped (True) or refused with code 2 (False).
    cap_per_page: bool = True
    max_per_page: int = 200
    # Open question 5: a second contact with the same contact_name is refused (code 3062).
    unique_contact_name: bool = True
    # [V] section 6: 100 requests per minute per organization; daily quota by plan;
    # concurrency 5 (Free) or 10 (paid). [V] codes 44, 45, 1070 with HTTP 429.
    requests_per_minute: int = 100
    daily_quota_by_plan: dict[str, int] = {
        "Free": 1000,
        "Standard": 2000,
        "Professional": 5000,
        "Premium": 10000,
        "Elite": 10000,
        "Ultimate": 10000,
    }
    concurrency_free: int = 5
    concurrency_paid: int = 10
    # [V3p] no Retry-After is documented on 429s; True adds one (seconds to the window end).
    send_retry_after: bool = False
    # [I] the daily window resets at midnight UTC (Zoho uses the org's day; not documented).
    daily_reset: Literal["utc_midnight"] = "utc_midnight"
    # Open question 3: the signing scheme of Books webhooks. "billing" = Zoho Billing's
    # documented scheme (HMAC-SHA256 over sorted query+form key/values then the raw body).
    webhook_signature_scheme: Literal["billing", "body", "none"] = "billing"
    webhook_signature_header: str = "X-Zoho-Webhook-Signature"
    webhook_signature_encoding: Literal["hex", "base64"] = "hex"
    # Open question 4: the default payload is wrapped as {"contact": {...}} (True).
    webhook_wrap_payload: bool = True
    # Open question 4: retry schedule (seconds after each failure) and per-attempt timeout.
    webhook_retry_delays_seconds: tuple[float, ...] = (300.0, 1800.0, 7200.0)
    webhook_timeout_seconds: float = 10.0
    # [I] 4xx answers are not retried, 5xx and no answer are.
    webhook_retry_on_4xx: bool = False
