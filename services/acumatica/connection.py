"""What an Acumatica connection needs: instance, password login and the REST endpoint."""

from __future__ import annotations

from services.runtime.credential_fields import CredentialField, CredentialSpec

__all__ = ["CREDENTIALS"]

CREDENTIALS = CredentialSpec(
    vendor="acumatica",
    style="password",
    fields=(
        CredentialField("base_url", secret=False, description="Instance URL."),
        CredentialField("username", secret=False, description="Integration user."),
        CredentialField("password", secret=True, description="That user's password."),
        CredentialField("tenant", secret=False, description="Tenant (company) to sign in to."),
        CredentialField("branch", secret=False, description="Branch id.", required=False),
        CredentialField("endpoint", secret=False, description="Endpoint name, e.g. Default."),
        CredentialField("version", secret=False, description="Endpoint version, e.g. 24.200.001."),
        CredentialField(
            "department_endpoint",
            secret=False,
            description=(
                "Endpoint extension holding the Department entity (the Default endpoint has "
                "none); flow 3 writes departments there."
            ),
            required=False,
        ),
        CredentialField(
            "department_endpoint_version",
            secret=False,
            description="That extension's version (default: the endpoint version).",
            required=False,
        ),
    ),
)
