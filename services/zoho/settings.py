"""Zoho Books OAuth and API facts as settings (prefix ``MLC_ZOHO_``).

Consent starts at the US accounts server, which sends a multi-DC user to their home
data centre; the redirect names that DC's accounts server, which is only trusted when
it starts with one of ``trusted_accounts_servers`` (a sandbox sets its own origin).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import RuntimeSettings

__all__ = ["ZohoServiceSettings", "ZohoSettings"]

# Section 1 of the fact sheet: every data centre's accounts server.
ZOHO_ACCOUNTS_SERVERS = (
    "https://accounts.zoho.com",
    "https://accounts.zoho.eu",
    "https://accounts.zoho.in",
    "https://accounts.zoho.com.au",
    "https://accounts.zoho.jp",
    "https://accounts.zohocloud.ca",
    "https://accounts.zoho.com.cn",
    "https://accounts.zoho.sa",
)

# Section 1: every data centre's API host (`api_domain` of the token answer).
ZOHO_API_DOMAINS = (
    "https://www.zohoapis.com",
    "https://www.zohoapis.eu",
    "https://www.zohoapis.in",
    "https://www.zohoapis.com.au",
    "https://www.zohoapis.jp",
    "https://www.zohoapis.ca",
    "https://www.zohoapis.com.cn",
    "https://www.zohoapis.sa",
)


class ZohoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_ZOHO_", extra="ignore")

    accounts_base_url: str = Field(
        default="https://accounts.zoho.com", description="Where consent starts."
    )
    trusted_accounts_servers: tuple[str, ...] = Field(
        default=ZOHO_ACCOUNTS_SERVERS,
        description="Prefixes an `accounts-server` on the redirect must start with.",
    )
    client_id: str = Field(default="", description="The Zoho API Console client id.")
    client_secret: SecretStr = Field(default=SecretStr(""), description="Its secret.")
    redirect_uri: str = Field(
        default="http://localhost:8080/oauth/zoho/callback",
        description="Our callback as registered on the client.",
    )
    scope: str = Field(
        default=(
            "ZohoBooks.contacts.ALL,ZohoBooks.settings.READ,ZohoBooks.settings.CREATE,"
            "ZohoBooks.settings.UPDATE,ZohoBooks.settings.DELETE"
        ),
        description=(
            "Comma-separated scopes; settings.READ lists organizations and reporting tags, "
            "settings.CREATE and DELETE add and remove our webhook, settings.UPDATE adds tag "
            "options (flow 2's lists)."
        ),
    )
    webhook_entity: str = Field(
        default="contact", description="Module whose records fire our webhook (flow people-zoho)."
    )
    webhook_events: tuple[str, ...] = Field(
        default=("create", "edit", "delete"),
        description=(
            "When the webhook fires; Books ties webhooks to workflow rules and the API's "
            "`events` values are undocumented [I]."
        ),
    )
    webhook_name: str = Field(
        default="ml-connector", description="Name the webhook is created under (50 at most)."
    )
    trusted_api_domains: tuple[str, ...] = Field(
        default=ZOHO_API_DOMAINS,
        description=(
            "Origins a connection's `api_domain` must be one of: the token goes there, so "
            "only a Zoho data centre's API host (a sandbox sets its own)."
        ),
    )
    # --- the contacts sink (flow people-zoho) -------------------------------------------
    contact_type: Literal["vendor", "customer"] = Field(
        default="vendor",
        description=(
            "Contact type an employee becomes [inferred]: a person reimbursed for expenses is "
            "someone the organisation pays, so a vendor (payables) by default."
        ),
    )
    department_tag_name: str = Field(
        default="Department",
        description="Reporting tag whose options are departments (matched trimmed, any case).",
    )
    job_title_tag_name: str = Field(
        default="Job Title",
        description="Reporting tag whose options are job titles (matched trimmed, any case).",
    )
    reporting_tags_path: str = Field(
        default="/reportingtags",
        description=(
            "Reporting-tag resource under /books/v3 [inferred: not in the fact sheet; the "
            "sandbox serves it]."
        ),
    )
    reporting_tags_max_age_seconds: float = Field(
        default=300.0,
        ge=0,
        description=(
            "How long the tags read for one hire serve the next ones (a new option reaches "
            "contacts this much later at worst)."
        ),
    )
    requests_per_minute: int = Field(
        default=95,
        ge=1,
        description=(
            "Calls per minute per organisation this service makes (Zoho allows 100, sheet "
            "section 6): 5 are left to the control plane's calls in other processes (consent, "
            "webhook registration, pings), which count against the same organisation."
        ),
    )
    max_in_flight: int = Field(
        default=5,
        ge=1,
        description=(
            "Concurrent calls per organisation: 5 is the Free edition's cap (paid: 10, soft; "
            "sheet section 6)."
        ),
    )
    daily_quota_reserve: int = Field(
        default=20,
        ge=0,
        description=(
            "Calls of the daily quota left unused: at or below it the sink waits for the reset "
            "instead of spending the last calls (an operator may need them)."
        ),
    )
    max_quota_wait_seconds: float = Field(
        default=90_000.0,
        gt=0,
        description=(
            "Longest one wait for the daily quota's reset (25 h: a whole day's window); a "
            "longer one fails the try and the bus retries the message later."
        ),
    )
    person_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Lease that serialises one employee's writes across replicas.",
    )
    per_page: int = Field(
        default=200, ge=1, le=200, description="Page size of list calls (200: sheet section 7)."
    )
    # --- lists and reconciliation -------------------------------------------------------
    option_list_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Lease that serialises one link's writes to one tag's options across replicas.",
    )
    reconcile_every_seconds: int = Field(
        default=900,
        ge=60,
        description=(
            "How often a people-zoho link is reconciled when its own reconcile_every_seconds "
            "option is not set (the Zoho connection's 'links' schedule checks every minute)."
        ),
    )


class ZohoServiceSettings(RuntimeSettings):
    """The runtime settings with this service's name (group id, logs, ``dlq.zoho``)."""

    service_name: str = Field(
        default="zoho", description="Name used in logs, group ids and dlq.<service>."
    )
