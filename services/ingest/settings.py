"""The edge's settings: a public server's plus the webhook intake's (prefix ``MLC_``)."""

from __future__ import annotations

from pydantic import Field

from services.runtime.public_server import PublicServerSettings

__all__ = ["IngestSettings"]


class IngestSettings(PublicServerSettings):
    """What the webhook edge needs on top of a public server's settings (same ``MLC_`` prefix)."""

    service_name: str = Field(default="ingest", description="Name used in logs and group ids.")
    ingest_host: str = Field(default="127.0.0.1", description="Address the ingest service binds.")
    ingest_port: int = Field(default=8080, ge=0, le=65535, description="Port it listens on.")
    webhook_max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest webhook body accepted; larger is 413."
    )
    webhook_replay_window_seconds: float = Field(
        default=300.0,
        gt=0,
        description=(
            "How far a signed timestamp may be from now, for vendors that send one and set no "
            "window of their own (MLC_BAMBOOHR_WEBHOOK_REPLAY_WINDOW_SECONDS)."
        ),
    )
    webhook_dedupe_retention_hours: float = Field(
        default=168.0,
        gt=0,
        description=(
            "How long the intake remembers a delivery id to drop the vendor's re-sends; never "
            "less than the longest replay window. Past it a re-send is published again."
        ),
    )
    webhook_publish_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a delivery waits for Kafka's ack before the vendor gets 503.",
    )
    webhook_retry_after_seconds: int = Field(
        default=30, ge=1, description="Retry-After sent with a 503 when Kafka is unavailable."
    )
    webhook_connection_keep_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "How long one read of a connection and its webhook secrets serves its next "
            "deliveries (a signature they cannot verify reads them again at once); 0 reads "
            "them for every delivery."
        ),
    )
    webhook_handshakes_per_minute: int = Field(
        default=10,
        ge=1,
        description=(
            "Unsigned verification handshakes (FreshBooks) one connection may send a minute; "
            "a registration causes one per event. More are answered 429."
        ),
    )
