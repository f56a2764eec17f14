"""What a BILL connection needs: a developer key plus a user login into one organization."""

from __future__ import annotations

from services.runtime.credential_fields import CredentialField, CredentialSpec

__all__ = ["CREDENTIALS"]

CREDENTIALS = CredentialSpec(
    vendor="bill",
    style="dev_key_login",
    fields=(
        CredentialField("dev_key", secret=True, description="Developer key (devKey)."),
        CredentialField("username", secret=False, description="BILL user's sign-in email."),
        CredentialField("password", secret=True, description="That user's password."),
        CredentialField("organization_id", secret=False, description="BILL organization id."),
    ),
)
