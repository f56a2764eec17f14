"""FreshBooks OAuth and API facts as settings (prefix ``MLC_FRESHBOOKS_``).

The base URLs are settings so a sandbox can stand in for both FreshBooks hosts;
``redirect_uri`` must match the one registered on the FreshBooks app exactly.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["FreshBooksSettings"]


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
