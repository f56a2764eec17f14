"""What every public HTTP server of ours shares: the guard's settings, the guarded uvicorn
protocol whose refusals are audited, and the readiness probe.

The edge (``services/ingest``) and the control plane (``services/control``) are both
reachable from outside, so both get the read deadlines and the per-address connection cap
of :mod:`services.runtime.server_limits`, and both answer ``/healthz`` by asking Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import uvicorn
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from services.runtime.logging import get_logger
from services.runtime.readiness import BrokerReadiness
from services.runtime.server_limits import ConnectionRefused, ServerLimits, guarded_protocol
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore, StoreError
from services.runtime.url_guard import CONTROL_CHARACTER_REASON, ControlCharacterGuard

__all__ = [
    "CONNECTION_REFUSED_ACTION",
    "PublicServerSettings",
    "audited_guarded_protocol",
    "healthz_route",
    "record_connection_refusal",
    "serve_guarded",
]

CONNECTION_REFUSED_ACTION: Final = "http.refused"

_log = get_logger(__name__)


class PublicServerSettings(RuntimeSettings):
    """The guard and the probe of a public server (same ``MLC_`` prefix)."""

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


async def record_connection_refusal(
    store: StateStore, *, actor: str, reason: str, status: int, client: str | None
) -> bool:
    """Write one ``http.refused`` entry: a connection a server limit ended (slow, too many).

    A store that cannot take it is logged, never raised: the refusal stands either way.
    """
    try:
        async with store.transaction() as tx:
            await tx.audit_log.append(
                actor=actor,
                action=CONNECTION_REFUSED_ACTION,
                subject=f"client:{client or 'unknown'}",
                detail={"status": status, "reason": reason, "client": client},
            )
    except (StoreError, SQLAlchemyError, OSError) as exc:
        _log.error("audit_write_failed", action=CONNECTION_REFUSED_ACTION, error=type(exc).__name__)
        return False
    return True


def audited_guarded_protocol(
    settings: PublicServerSettings, store: StateStore, *, actor: str, retry_after_seconds: int
) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with the read deadlines and per-address connection cap; every
    connection a limit ends is written to the audit log (``http.refused``, by ``actor``)."""
    writing: set[asyncio.Task[bool]] = set()

    def audit(client: str | None, reason: ConnectionRefused) -> None:
        status = 503 if reason == "too_many_connections" else 408
        task = asyncio.create_task(
            record_connection_refusal(
                store, actor=actor, reason=reason, status=status, client=client
            )
        )
        writing.add(task)
        task.add_done_callback(writing.discard)

    limits = ServerLimits(
        header_timeout=settings.http_header_timeout_seconds,
        body_timeout=settings.http_body_timeout_seconds,
        connections_per_client=settings.http_connections_per_client,
        retry_after_seconds=retry_after_seconds,
    )
    return guarded_protocol(limits, on_refused=audit)


def healthz_route(
    ping: Callable[[float], Awaitable[bool]], *, timeout: float, service: str
) -> Route:
    """``GET /healthz``, open: 200 while Kafka answers, else 503 (not ready)."""
    readiness = BrokerReadiness(ping, timeout=timeout)

    async def healthz(_: Request) -> JSONResponse:
        # Everything these servers do ends on the bus: without Kafka they can only answer 503.
        if not await readiness.ready():
            return JSONResponse(
                {"status": "unavailable", "service": service, "error": "Kafka does not answer"},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "service": service})

    return Route("/healthz", healthz, methods=["GET"])


async def serve_guarded(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    protocol: type[asyncio.Protocol],
    settings: PublicServerSettings,
    store: StateStore,
    actor: str,
) -> None:
    """Serve ``app`` with uvicorn behind ``protocol`` (the guard) until stopped.

    No proxy headers (the client address is the socket's: the per-address cap depends on
    it) and uvicorn's own connection limit as the outer bound; logging is ours. A URL with
    a control character is refused with 400 before ``app`` sees it, written to the audit
    log as ``actor``'s ``http.refused``.
    """

    async def refused(client: str | None) -> bool:
        return await record_connection_refusal(
            store, actor=actor, reason=CONTROL_CHARACTER_REASON, status=400, client=client
        )

    config = uvicorn.Config(
        ControlCharacterGuard(app, refused=refused),
        host=host,
        port=port,
        log_config=None,
        proxy_headers=False,
        http=protocol,
        limit_concurrency=settings.http_max_connections,
    )
    await uvicorn.Server(config).serve()
