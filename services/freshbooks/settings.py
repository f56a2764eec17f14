"""Every setting of the freshbooks service: FreshBooks' OAuth and API facts (prefix
``MLC_FRESHBOOKS_``), and the service process's runtime settings (the shared ``MLC_`` ones,
named "freshbooks": consumer group, dead-letter topic ``dlq.freshbooks``, store rows).

The base URLs are settings so a sandbox can stand in for both FreshBooks hosts;
``redirect_uri`` must match the one registered on the FreshBooks app exactly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import RuntimeSettings

__all__ = ["FreshBooksServiceSettings", "FreshBooksSettings"]


class FreshBooksSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_FRESHBOOKS_", extra="ignore")

    auth_base_url: str = Field(
        default="https://auth.freshbooks.com", description="Host of the browser's consent page."
    )
    api_base_url: str = Field(
        default="https://api.freshbooks.com", description="Host of the token endpoint and API."
    )
    authorize_path: str = "/oauth/authorize"
    token_path: str = "/auth/oauth/token"  # noqa: S105 - a URL path, not a secret
    client_id: str = Field(default="", description="The FreshBooks app's client id.")
    client_secret: SecretStr = Field(default=SecretStr(""), description="The app's secret.")
    redirect_uri: str = Field(
        default="http://localhost:8080/oauth/freshbooks/callback",
        description="Our callback as registered on the app (no query string).",
    )
    scope: str = Field(default="", description="Space-separated scopes; empty = the app's set.")

    # --- the sink of flow 1 (people-freshbooks) and department attribution ------------------
    # Sheet section 9: no published limit; ~5 rps per a third party [inferred]. The whole
    # figure, not a margin under it: the limiter counts a call until a second after its answer
    # (services/runtime/ratelimit.py), so no second at FreshBooks ever holds more than this.
    requests_per_second: int = Field(
        default=5, ge=1, description="Proactive request budget per connection [inferred]."
    )
    per_page: int = Field(
        default=100, ge=1, le=100, description="Page size of list calls (capped at 100)."
    )
    person_create: Literal["invitation", "staff", "none"] = Field(
        default="invitation",
        description=(
            "How a new employee is created: a team-member invitation [inferred call], "
            "a deprecated accounting staff POST (staff cannot log in), or none (match only)."
        ),
    )
    invitation_path: str = Field(
        default="/auth/api/v1/users/invitation",
        description="Invitation endpoint on the API host [inferred: Postman collection only].",
    )
    invitation_capacity: str = Field(
        default="employee", description="The invitation's capacity (role) [inferred]."
    )
    department_note_template: str = Field(
        default="[Department: {department}]",
        description="The department marker written into an expense's notes; holds {department}.",
    )
    expenses_updated_filter: bool = Field(
        default=True,
        description="Poll expenses with search[updated_min] [inferred]; false = full scan.",
    )
    team_directory_max_age_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a listing of the team members, and one of the staff, serve "
        "email matches before they are listed again (our own invitations and staff writes "
        "are added as they are made).",
    )
    person_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Lease that serialises one record's writes across replicas (a crashed "
        "holder blocks that record this long).",
    )
    lists_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long one read of the expense categories and ledger accounts serves "
        "the next reports (read again sooner when they cannot place a line; 0: every report).",
    )
    report_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Lease that serialises one expense report's writes across replicas (a "
        "report is a bill and several expenses).",
    )
    # The callbacks ingest registers (services/freshbooks/webhook_registration.py).
    webhook_events: tuple[str, ...] = Field(
        default=(
            "bill.create",
            "bill.update",
            "bill.delete",
            "bill_vendor.create",
            "bill_vendor.update",
            "bill_vendor.delete",
            "expense.create",
            "expense.update",
            "expense.delete",
        ),
        description=(
            "Events registered, one callback each; the authoritative event list is open "
            "(fact sheet open question 2) [inferred]."
        ),
    )


class FreshBooksServiceSettings(RuntimeSettings):
    """The runtime settings with this service's name (group id, logs, ``dlq.freshbooks``)."""

    service_name: str = Field(
        default="freshbooks", description="Name used in logs, group ids and dlq.<service>."
    )
