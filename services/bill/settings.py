"""BILL API facts as settings (prefix ``MLC_BILL_``).

Both bases are settings so the sandbox can stand in for BILL, and so the sandbox
environment (``gateway.stage.bill.com``) is one variable away (fact sheet section 1).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import RuntimeSettings

__all__ = ["BillServiceSettings", "BillSettings"]


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
        default=("payment.updated",),
        description=(
            "Event types our subscription asks for: flow ap-bill reads BILL's payments (BILL "
            "has no payment.created: a new payment is an update of its status)."
        ),
    )
    webhook_event_version: str = Field(
        default="1", description="Event payload version subscribed to."
    )
    webhook_name: str = Field(
        default="ml-connector", description="Name the subscription is created under."
    )
    # --- calls (flow ap-bill) ---------------------------------------------------------------
    max_in_flight: int = Field(
        default=3,
        ge=1,
        description=(
            "Requests in flight per organisation across every replica (BILL refuses a fourth "
            "per developer key and organisation with BDC_1322)."
        ),
    )
    requests_per_hour: int = Field(
        default=18_000,
        ge=1,
        description=(
            "Calls per hour per connection, kept proactively (BILL's quota is 20,000 an hour "
            "per developer key, BDC_1144; the rest is headroom for logins and other tools)."
        ),
    )
    slot_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a request may hold its in-flight slot (a dead process's frees then).",
    )
    retry_codes: tuple[str, ...] = Field(
        default=("BDC_1322",),
        description=(
            "BILL error codes that mean the request was refused before any effect, retried "
            "with backoff whatever the method (BDC_1322: too many concurrent requests)."
        ),
    )
    chart_seconds: float = Field(
        default=300.0,
        ge=0,
        description=(
            "How long the chart of accounts read for one bill serves the next ones (read again "
            "sooner when it cannot place a line; 0 reads it for every bill)."
        ),
    )
    session_lease_seconds: float = Field(
        default=30.0, gt=0, description="Lease that keeps one login per connection at a time."
    )
    cleared_statuses: tuple[str, ...] = Field(
        default=("CLEARED",),
        description=(
            "Payment singleStatus values that mean the money reached the vendor: only then is "
            "a payment written back [inferred: BILL documents the values, not which mean "
            "cleared for every disbursement type; add DELIVERED or PAID here to count them]."
        ),
    )
    voided_statuses: tuple[str, ...] = Field(
        default=("VOIDED",),
        description="Payment singleStatus values that take a written-back payment out again.",
    )
    currency: str = Field(
        default="USD",
        description="Currency of the organisation's payments [inferred: payments carry none].",
    )
    poll_overlap_seconds: float = Field(
        default=120.0,
        ge=0,
        description="How far before the last poll's newest updatedTime the next one reads.",
    )
    record_lease_seconds: float = Field(
        default=60.0, gt=0, description="Lease that serialises one vendor's or bill's writes."
    )


class BillServiceSettings(RuntimeSettings):
    """The runtime settings with this service's name (group id, logs, ``dlq.bill``)."""

    service_name: str = Field(
        default="bill", description="Name used in logs, group ids and dlq.<service>."
    )
