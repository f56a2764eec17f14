"""BILL API facts as settings (prefix ``MLC_BILL_``).

Both bases are settings so the sandbox can stand in for BILL, and so the sandbox
environment (``gateway.stage.bill.com``) is one variable away (fact sheet section 1).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BillSettings"]


class BillSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_BILL_", extra="ignore")

    api_base_url: str = Field(
        default="https://gateway.prod.bill.com/connect",
        description="The API base (login, vendors, bills); stage: gateway.stage.bill.com.",
    )
    events_base_url: str = Field(
        default="https://gateway.prod.bill.com/connect-events",
        description="The webhook (subscriptions) API base.",
    )
    webhook_events: tuple[str, ...] = Field(
        default=("vendor.created", "vendor.updated", "bill.created", "bill.updated"),
        description="Event types our subscription asks for (flow ap-bill's sources).",
    )
    webhook_event_version: str = Field(
        default="1", description="Event payload version subscribed to."
    )
    webhook_name: str = Field(
        default="ml-connector", description="Name the subscription is created under."
    )
