"""Expensify Integration Server facts as settings (prefix ``MLC_EXPENSIFY_``).

Facts the sheet marks open or [inferred] (``../shared/vendors/expensify.md``) are settings
here so a change is one variable away: the rate windows (section 10, open question 2), the
rate-limit message, the error codes of refused credentials (open question 1), the report
states that count as approved.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import RuntimeSettings

__all__ = ["ExpensifyServiceSettings", "ExpensifySettings"]

RATE_LIMIT_MESSAGE = "You have been rate-limited"


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
    # --- limits (sheet section 10) -------------------------------------------------------
    rate_windows: tuple[tuple[int, float], ...] = Field(
        default=((5, 10.0), (20, 60.0)),
        description=(
            "Jobs per seconds per partner credential, every window kept at once (the help "
            "article's 5 per 10 s and 20 per minute; the manual's older 50 a minute is "
            "[[50, 60]]): JSON list of [jobs, seconds]."
        ),
    )
    rate_limit_message: str = Field(
        default=RATE_LIMIT_MESSAGE,
        description=(
            "Text of Expensify's rate-limit answer (whatever its HTTP status): such a job did "
            "nothing and is sent again after a backoff."
        ),
    )
    # --- the report export (sheet section 3) ---------------------------------------------
    report_states: tuple[str, ...] = Field(
        default=("APPROVED", "REIMBURSED"),
        description=(
            "Report states exported as approved (a reimbursed report was approved first; "
            "ARCHIVED is 'Closed' and would re-read old reports)."
        ),
    )
    export_limit: int = Field(
        default=1000,
        ge=1,
        description=(
            "Reports per export job (its `limit`; the useful maximum is open, question 10): "
            "an export that comes back full is read again in halves of its filing window."
        ),
    )
    download_attempts: int = Field(
        default=6,
        ge=1,
        description=(
            "Downloads tried per export before the poll fails and is retried (the file can "
            "lag its name: Expensify's own script polls 30 times, 5 s apart)."
        ),
    )
    first_poll_days: int = Field(
        default=30,
        ge=1,
        le=180,
        description=(
            "How far back the first poll of a link reads approvals (later polls start at the "
            "last one's day, never more than 180 days back: with the filing half a year "
            "before that, Expensify's one-year range without an end date)."
        ),
    )
    poll_every_seconds: int = Field(
        default=900,
        ge=60,
        description=(
            "How often an expenses link is polled when its options set no schedule "
            "(`poll_every_seconds`, or `poll_daily_at` with `time_zone`)."
        ),
    )
    report_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Lease that keeps one poll of a connection at a time across replicas.",
    )


class ExpensifyServiceSettings(RuntimeSettings):
    """The runtime settings with this service's name (group id, logs, ``dlq.expensify``)."""

    service_name: str = Field(
        default="expensify", description="Name used in logs, group ids and dlq.<service>."
    )
