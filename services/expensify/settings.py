"""Expensify Integration Server facts as settings (prefix ``MLC_EXPENSIFY_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ExpensifySettings"]


class ExpensifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_EXPENSIFY_", extra="ignore")

    integration_url: str = Field(
        default="https://integrations.expensify.com/Integration-Server/ExpensifyIntegrations",
        description="The one Integration Server endpoint every job is posted to.",
    )
    auth_error_codes: tuple[int, ...] = Field(
        default=(401, 407),
        description=(
            "responseCode values that mean the partner credentials were refused; undocumented "
            "(fact sheet open question 1), 407 is what Expensify's auth layer reports [I]."
        ),
    )
