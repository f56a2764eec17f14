"""Acumatica facts as settings (prefix ``MLC_ACUMATICA_``).

The instance URL, tenant and endpoint version are per connection (its credentials); what
is here is the same for every connection.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import RuntimeSettings

__all__ = ["AcumaticaServiceSettings", "AcumaticaSettings"]


class AcumaticaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_ACUMATICA_", extra="ignore")

    ping_entity: str = Field(
        default="Employee", description="Entity read by `mlc connections ping` (one record)."
    )
    ping_select: str = Field(
        default="EmployeeID", description="Field the ping selects, to keep the read small."
    )
    # --- OAuth 2.0 (services/acumatica/auth.py) ---------------------------------------------
    client_id: str = Field(
        default="",
        description=(
            "Connected Application's client id (SM303010); the tenant suffix (@Tenant) is "
            "added when missing. A connection may name its own (--set client_id=...)."
        ),
    )
    client_secret: SecretStr = Field(default=SecretStr(""), description="Its shared secret.")
    redirect_uri: str = Field(
        default="http://localhost:8080/oauth/acumatica/callback",
        description="Our callback as registered on the Connected Application.",
    )
    scope: str = Field(
        default="api offline_access",
        description=(
            "OAuth scopes: api for the REST API, offline_access for a refresh token and one "
            "API session kept across refreshes (nothing to sign out)."
        ),
    )
    # --- flow 3 (people-acumatica) -------------------------------------------------------
    department_endpoint: str = Field(
        default="MLConnector",
        description=(
            "Endpoint extension with the Department entity when a connection names none "
            "[inferred: the Default endpoint has no Department (sheet section 7); the "
            "extension's name is the instance administrator's]."
        ),
    )
    requests_per_minute: int = Field(
        default=300,
        ge=1,
        description=(
            "Calls per minute per connection, kept proactively: set it to the licence's figure "
            "[inferred: the limit is per instance and not published; the sandbox's is 300]. "
            "Each call is counted until a minute after its answer, so the licence's minute "
            "never holds more."
        ),
    )
    max_in_flight: int = Field(
        default=4, ge=1, description="Concurrent calls per connection (the licence's queue)."
    )
    person_lease_seconds: float = Field(
        default=30.0, gt=0, description="Lease that serialises one employee's writes."
    )
    department_lease_seconds: float = Field(
        default=30.0, gt=0, description="Lease that serialises one link's department creates."
    )


class AcumaticaServiceSettings(RuntimeSettings):
    """The runtime settings with this service's name (group id, logs, ``dlq.acumatica``)."""

    service_name: str = Field(
        default="acumatica", description="Name used in logs, group ids and dlq.<service>."
    )
