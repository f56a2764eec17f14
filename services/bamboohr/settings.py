"""BambooHR OAuth and API facts as settings (prefix ``MLC_BAMBOOHR_``).

Every BambooHR URL lives on the customer's own subdomain, so the company URL is a
template; a sandbox replaces it with its own origin plus a path prefix.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BambooHRSettings"]


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
        default="openid offline_access employee employee_directory webhooks",
        description="Space-separated scopes; offline_access brings a refresh token.",
    )
