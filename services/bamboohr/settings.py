"""Every setting of the bamboohr service: BambooHR's OAuth and API facts (prefix
``MLC_BAMBOOHR_``), and the service process's runtime settings (the shared ``MLC_`` ones,
named "bamboohr": consumer group, dead-letter topic ``dlq.bamboohr``, store rows).

Every BambooHR URL lives on the customer's own subdomain, so the company URL is a
template; a sandbox replaces it with its own origin plus a path prefix.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import RuntimeSettings

__all__ = ["BambooHRServiceSettings", "BambooHRSettings"]


class BambooHRSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_BAMBOOHR_", extra="ignore")

    company_url_template: str = Field(
        default="https://{subdomain}.bamboohr.com",
        description="The company's origin; `{subdomain}` is the connection's subdomain.",
    )
    client_id: str = Field(default="", description="The partner app's client id.")
    client_secret: SecretStr = Field(default=SecretStr(""), description="Its secret.")
    redirect_uri: str = Field(
        default="http://localhost:8080/oauth/bamboohr/callback",
        description="Our callback as registered in the developer portal.",
    )
    scope: str = Field(
        default=(
            "openid offline_access employee employee_directory report field field.write "
            "public.user webhooks webhooks.write"
        ),
        description=(
            "Space-separated scopes; offline_access brings a refresh token; report, field and "
            "public.user are what the source's report, /meta/lists and changed-since calls need; "
            "field.write lets the list alignment add and archive options (PUT /meta/lists/{id}, "
            "SPEC); webhooks.write lets ingest register the webhook."
        ),
    )
    terminated_statuses: tuple[str, ...] = Field(
        default=("Terminated",),
        description=(
            "employmentHistoryStatus labels that mean the person left (account-defined) [I]."
        ),
    )
    changed_since_overlap_seconds: int = Field(
        default=5,
        ge=0,
        description="How far before the stored watermark a changed-since poll starts [I].",
    )
    token_refresh_ahead_seconds: int = Field(
        default=300, ge=0, description="Refresh an OAuth access token this long before expiry."
    )
    max_in_flight: int = Field(
        default=2, ge=1, description="Concurrent calls per company (limits are unpublished) [I]."
    )
    connection_keep_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long the source reuses a connection's record between webhook "
        "deliveries before reading it again (a changed API key or company is seen that late; "
        "0 reads it for every delivery).",
    )
    # Why 100: a reconcile reads everyone in at most 3 calls whatever the company's size
    # (meta/lists, one unpaged custom report, the deletions since the last reconcile; the
    # 10,000-person backfill in docs/benchmarks.md took 3), against one GET per employee
    # named. BambooHR's event-based deliveries name one person; a delivery naming more than
    # 100 is a bulk change (an import, a mass edit) or abuse, and by then 100 single reads
    # spend over 30 times the calls of the report out of the customer's unpublished budget.
    # Below it, single reads spare a large company one answer listing everyone (its size
    # grows with the company, and every row is compared with what we last published) for a
    # handful of changes.
    delivery_max_employees: int = Field(
        default=100,
        ge=1,
        description=(
            "Most distinct employees one webhook delivery may have re-read one by one; a "
            "delivery naming more is handled by one reconcile (a read of everyone) instead."
        ),
    )
    webhook_budget_share: float = Field(
        default=0.25,
        ge=0.0,
        lt=1.0,
        description=(
            "Share of a connection's request budget (its in-flight calls) that bulk reads "
            "(reconciles, first syncs, over-cap deliveries) may not use, kept for webhook "
            "reads [I]. With MAX_IN_FLIGHT 2: bulk reads take one call at a time, webhook "
            "reads always find the other."
        ),
    )
    max_retry_after_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Longest 503/429 Retry-After waited out in place; longer ones fail the try.",
    )
    option_list_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How long one link's turn at one BambooHR option list lasts (and another replica "
            "waits for it): a list read and one PUT /meta/lists fit many times over."
        ),
    )
    # What the webhook ingest registers asks for (services/bamboohr/webhook_registration.py).
    webhook_events: tuple[str, ...] = Field(
        default=("employee.created", "employee.updated", "employee.deleted"),
        description="Events the registered webhook asks for (the event-based family).",
    )
    webhook_monitor_fields: tuple[str, ...] = Field(
        default=(
            "firstName",
            "lastName",
            "workEmail",
            "jobTitle",
            "department",
            "division",
            "status",
            "employmentHistoryStatus",
            "reportsTo",
        ),
        description="Fields whose change fires employee.updated (what the people flows map).",
    )
    webhook_name: str = Field(
        default="ml-connector people", description="Name the webhook is registered under."
    )
    webhook_replay_window_seconds: float = Field(
        default=10_800.0,
        gt=0,
        description=(
            "How old X-BambooHR-Timestamp may be. BambooHR retries a failed delivery 5 times "
            "over 155 min; a retry is assumed to keep the original signed timestamp [I], so "
            "3 h lets every retry in (replays inside it are duplicates in the ledger)."
        ),
    )


class BambooHRServiceSettings(RuntimeSettings):
    """The runtime settings with this service's name (group id, logs, ``dlq.bamboohr``)."""

    service_name: str = Field(
        default="bamboohr", description="Name used in logs, group ids and dlq.<service>."
    )
