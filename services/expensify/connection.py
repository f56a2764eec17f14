"""What an Expensify connection needs: partner credentials and the policy to read."""

from __future__ import annotations

from services.runtime.credential_fields import CredentialField, CredentialSpec

__all__ = ["CREDENTIALS"]

CREDENTIALS = CredentialSpec(
    vendor="expensify",
    style="partner_credentials",
    fields=(
        CredentialField("partner_user_id", secret=False, description="partnerUserID."),
        CredentialField("partner_user_secret", secret=True, description="partnerUserSecret."),
        CredentialField("policy_id", secret=False, description="Policy whose reports are read."),
    ),
)
