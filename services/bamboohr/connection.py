"""What a BambooHR API-key connection needs: the key (secret) and the company subdomain."""

from __future__ import annotations

from services.runtime.credential_fields import CredentialField, CredentialSpec

__all__ = ["CREDENTIALS"]

CREDENTIALS = CredentialSpec(
    vendor="bamboohr",
    style="api_key",
    fields=(
        CredentialField("api_key", secret=True, description="API key (used as Basic user)."),
        CredentialField(
            "company_domain", secret=False, description="Subdomain in <company>.bamboohr.com."
        ),
    ),
)
