"""Every FreshBooks behaviour the fact sheet marks [inferred] or leaves open, one setting each.

Section numbers refer to `../shared/vendors/freshbooks.md`; `docs/vendors/freshbooks-sandbox.md`
lists each setting with its source. Verified facts are code, not settings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["FreshBooksSandboxSettings"]


class FreshBooksSandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Open question 1: three authorize/token path families are seen; all are served.
    authorize_paths: tuple[str, ...] = (
        "/oauth/authorize",
        "/service/auth/oauth/authorize",
    )
    token_paths: tuple[str, ...] = ("/auth/oauth/token", "/service/auth/oauth/token")
    revoke_paths: tuple[str, ...] = ("/auth/oauth/revoke", "/service/auth/oauth/revoke")
    # [verified] 12 h access tokens, 5 min codes; refresh tokens never expire but are single-use.
    access_token_ttl_seconds: float = 43200.0
    code_ttl_seconds: float = 300.0
    # [inferred] the old access token stays valid after a refresh, until it expires.
    refresh_revokes_old_access_token: bool = False
    # Open question 10: a refresh may echo the grant's original `created_at`.
    refresh_echoes_original_created_at: bool = False
    # [inferred] the portal refuses http redirect URIs; our local demo registers http ones.
    https_redirect_only: bool = False
    # [inferred] which scopes an app has enabled; an unknown one fails the whole consent.
    enabled_scopes: tuple[str, ...] = (
        "user:profile:read",
        "user:profile:write",
        "user:expenses:read",
        "user:expenses:write",
        "user:bills:read",
        "user:bills:write",
        "user:bill_payments:read",
        "user:bill_payments:write",
        "user:bill_vendors:read",
        "user:bill_vendors:write",
        "user:teams:read",
        "user:teams:write",
        "user:business:read",
        "user:journal_entries:read",
        "user:clients:read",
    )
    # Open question 6: default page size seen as 15 (docs, fixtures) and 30 (SDK prose).
    default_per_page: int = 15
    # [inferred] HTTP status of accounting validation errors (errno 1001/1004): 422 or 400.
    validation_status: Literal[400, 422] = 422
    # Open question 6 / section 5: whether `search[updated_min|max]` is honoured on bills.
    bills_honour_updated_filter: bool = False
    # Section 7.1: staff have no create endpoint; True serves POST for flows that need one.
    staff_create_allowed: bool = False
    # Open question 7: accepting a team-member invitation creates an accounting staff record.
    staff_for_accepted_team_members: bool = True
    # Section 7.6 [inferred]: a payment above the bill's outstanding amount is refused.
    refuse_overpayment: bool = True
    # Open question 2: no `bill_payment.*` event is documented; True fires them too.
    bill_payment_events: bool = False
    # Open question 4: the handshake POST is signed with the verifier, and its `name`.
    sign_handshake: bool = True
    handshake_event_name: str = "callback.verify"
    # Open question 3: retry delays for failed deliveries (none documented).
    webhook_retry_delays_seconds: tuple[float, ...] = (60.0, 600.0)
    webhook_timeout_seconds: float = 10.0
    # Section 9 / open question 5: no published limit; ~5 rps claimed by a third party.
    rate_limit_requests: int | None = 300
    rate_limit_window_seconds: float = 60.0
    rate_limit_retry_after: bool = True
