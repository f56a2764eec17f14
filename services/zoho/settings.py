"""Zoho Books OAuth and API facts as settings (prefix ``MLC_ZOHO_``).

Consent starts at the US accounts server, which sends a multi-DC user to their home
data centre; the redirect names that DC's accounts server, which is only trusted when
it starts with one of ``trusted_accounts_servers`` (a sandbox sets its own origin).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ZohoSettings"]

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
            "ZohoBooks.settings.DELETE"
        ),
        description=(
            "Comma-separated scopes; settings.READ lists organizations, settings.CREATE and "
            "DELETE add and remove our webhook."
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
