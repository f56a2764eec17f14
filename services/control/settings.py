"""The control plane's settings: a public server's plus its own (prefix ``MLC_``)."""

from __future__ import annotations

from pydantic import Field

from services.runtime.public_server import PublicServerSettings

__all__ = ["ControlSettings"]


class ControlSettings(PublicServerSettings):
    """What the operator API, OAuth consent and webhook registration need."""

    service_name: str = Field(default="control", description="Name used in logs.")
    control_host: str = Field(default="127.0.0.1", description="Address the control plane binds.")
    control_port: int = Field(default=8081, ge=0, le=65535, description="Port it listens on.")
    http_retry_after_seconds: int = Field(
        default=30, ge=1, description="Retry-After sent with the connection cap's 503."
    )
    webhooks_enabled: bool = Field(
        default=True,
        description="Register webhooks at vendors when a connection is added; false = poll.",
    )
    poll_every_seconds: int = Field(
        default=300, ge=1, description="Poll period stored for connections without webhooks."
    )
    reconcile_every_seconds: int = Field(
        default=86_400, ge=1, description="Reconciliation period stored for every connection."
    )
    reconcile_offset_seconds: int = Field(
        default=7_200, ge=0, description="Where in its period reconciliation runs (02:00 UTC)."
    )
    console_session_hours: float = Field(
        default=8.0,
        gt=0,
        le=24 * 30,
        description="How long a console sign-in lasts before the token is asked for again.",
    )
