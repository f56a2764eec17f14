"""The ingest service's settings: the runtime's plus the HTTP edge's (prefix ``MLC_``)."""

from __future__ import annotations

from pydantic import Field

from services.runtime.settings import RuntimeSettings

__all__ = ["IngestSettings"]


class IngestSettings(RuntimeSettings):
    """What the webhook intake needs on top of :class:`RuntimeSettings` (same ``MLC_`` prefix)."""

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
    webhook_handshakes_per_minute: int = Field(
        default=10,
        ge=1,
        description=(
            "Unsigned verification handshakes (FreshBooks) one connection may send a minute; "
            "a registration causes one per event. More are answered 429."
        ),
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
    http_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How long a request's line and headers may take to arrive (a few hundred bytes: "
            "a vendor sends them in one write); past it 408 and the connection is closed."
        ),
    )
    http_body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How long a request's body may take once its headers are in: 30 s is 35 KB/s for "
            "the largest webhook body accepted, far below any vendor's egress; past it 408."
        ),
    )
    http_connections_per_client: int = Field(
        default=32,
        ge=0,
        description=(
            "Open connections one client address may hold; one more is answered 503 with "
            "Retry-After. Vendors deliver a few at a time. 0 turns it off (behind a proxy, "
            "where every connection has the proxy's address: cap at the proxy)."
        ),
    )
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open connections and requests in all before uvicorn answers 503.",
    )
    health_kafka_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How long /healthz waits for Kafka to answer before it says not ready.",
    )
