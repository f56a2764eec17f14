"""The control plane's composition root: operator API, OAuth consent, webhook registration.

:func:`build_app` serves :func:`control_api` (the operator API under ``/api/v1`` and the
OAuth consent routes, with the vendors' knowledge from the registry, and ``/healthz``) over
a broker, a state store and a vault it is given; :func:`serve` is ``python -m
services.control``: it opens them from the settings and serves behind the same guard as
the edge (``services/runtime/public_server.py``). The edge and the control plane share
state only through the store and Kafka; the local stack runs both in one process
(``devstack/edge_and_control.py``). The operator API is FastAPI's
(:func:`control_api`); its OpenAPI document is generated from the routes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from faststream.kafka import KafkaBroker
from starlette.types import Lifespan

from schemas.topics import dlq_topic
from services.control.connections import OperatorConnections
from services.control.console.pages import ConsoleParts, console_routes
from services.control.console.sessions import ConsoleSessions
from services.control.link_health import projected_link_health
from services.control.oauth import OAuthFlow
from services.control.operator_api import operator_app
from services.control.operator_contract import HealthOut, error_responses
from services.control.ops_gauges import control_sampler
from services.control.projection import Projection, projection_running
from services.control.replays import LinkReplays, kafka_range_resolver
from services.control.review import EventPublisher, kafka_event_publisher
from services.control.settings import ControlSettings
from services.control.webhook_registrations import ScheduleDefaults, WebhookRegistrations
from services.runtime.bus import create_broker
from services.runtime.logging import configure_logging
from services.runtime.observability import observed
from services.runtime.public_server import audited_guarded_protocol, serve_guarded
from services.runtime.readiness import BrokerReadiness
from services.runtime.store import StateStore
from services.runtime.ticks import TickPublisher, kafka_tick_publisher
from services.runtime.vault import Vault
from services.runtime.webhook_handshakes import vendor_http
from services.vendors import (
    SERVICES,
    TOPICS,
    VENDORS,
    flow_sinks,
    key_vendors,
    oauth_vendors,
    registrars,
    vendor_schedules,
)

__all__ = [
    "ACTOR",
    "ControlParts",
    "build_app",
    "control_api",
    "control_protocol",
    "read_model_projection",
    "serve",
    "webhook_registrations",
]

ACTOR = "control"


@dataclass(frozen=True, slots=True)
class ControlParts:
    """What the control plane runs on; the caller opens and closes the store."""

    settings: ControlSettings
    store: StateStore
    vault: Vault
    broker: KafkaBroker


def webhook_registrations(
    settings: ControlSettings, store: StateStore, vault: Vault
) -> WebhookRegistrations:
    """Each vendor's webhook registrar, behind the vendor-neutral registrations."""
    return WebhookRegistrations(
        store=store,
        vault=vault,
        registrars=registrars(),
        refreshers=oauth_vendors(),
        public_url=settings.public_url,
        http=vendor_http,
        enabled=settings.webhooks_enabled,
        schedules=ScheduleDefaults(
            poll_every_seconds=settings.poll_every_seconds,
            reconcile_every_seconds=settings.reconcile_every_seconds,
            reconcile_offset_seconds=settings.reconcile_offset_seconds,
        ),
        vendor_schedules=vendor_schedules(),
    )


def read_model_projection(settings: ControlSettings, store: StateStore) -> Projection:
    """The folder that keeps ``store``'s read model current from every catalog topic."""
    return Projection(store, settings.kafka_bootstrap_servers, [t.name for t in TOPICS])


def control_api(
    settings: ControlSettings,
    store: StateStore,
    vault: Vault,
    registrations: WebhookRegistrations | None = None,
    publish_tick: TickPublisher | None = None,
    *,
    projection: Projection | None,
    publish_event: EventPublisher | None = None,
    broker: KafkaBroker | None = None,
    ping: Callable[[float], Awaitable[bool]],
    lifespan: Lifespan[FastAPI] | None = None,
) -> FastAPI:
    """The operator API and the OAuth consent routes, wired to each vendor's knowledge, as
    one FastAPI app: ``/api/v1/openapi.json`` (behind the token) is generated from its
    routes; no ``/docs`` or ``/redoc``; a path with a slash too many is a 404, never a
    redirect built from the Host header."""
    token = settings.operator_token.get_secret_value() if settings.operator_token else None
    flow = OAuthFlow(
        store=store,
        vault=vault,
        vendors=oauth_vendors(),
        key_vendors=key_vendors(),
        on_active=registrations.connection_active if registrations else None,
        on_reconnected=registrations.retry_failed_registration if registrations else None,
    )
    operations = OperatorConnections(
        store,
        vault,
        lifecycle=registrations,
        link_health=projected_link_health(store, projection),
    )
    healthz = APIRoute(
        "/healthz",
        _healthz(settings, ping),
        methods=["GET"],
        summary="Readiness probe (Kafka answers)",
        response_model=HealthOut,
        responses=error_responses(503),
        openapi_extra={"security": []},
    )
    console = ConsoleParts(
        store=store,
        sessions=ConsoleSessions(
            store,
            operator_token=token,
            lifetime=timedelta(hours=settings.console_session_hours),
        ),
        operations=operations,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        flow=flow,
        oauth_vendors=tuple(sorted(oauth_vendors())),
        publish_tick=publish_tick,
        publish_event=publish_event,
        broker=broker,
    )
    return operator_app(
        store,
        operations,
        operator_token=token,
        publish_tick=publish_tick,
        publish_event=publish_event,
        replays=LinkReplays(
            store,
            resolve=kafka_range_resolver(settings.kafka_bootstrap_servers),
            sinks=flow_sinks(),
            vendors=VENDORS,
        ),
        flow=flow,
        routes=[healthz, *console_routes(console)],
        lifespan=lifespan,
    )


def _healthz(
    settings: ControlSettings, ping: Callable[[float], Awaitable[bool]]
) -> Callable[[], Awaitable[HealthOut | JSONResponse]]:
    readiness = BrokerReadiness(ping, timeout=settings.health_kafka_timeout_seconds)

    async def healthz() -> HealthOut | JSONResponse:
        # Sync requests and link backfills need Kafka's ack: without it, not ready.
        if not await readiness.ready():
            return JSONResponse(
                {
                    "status": "unavailable",
                    "service": settings.service_name,
                    "error": "Kafka does not answer",
                },
                status_code=503,
            )
        return HealthOut(status="ok", service=settings.service_name)

    return healthz


def build_app(parts: ControlParts, *, registrations: WebhookRegistrations | None = None) -> FastAPI:
    """The control plane's ASGI app (:func:`control_api`); its lifespan runs the broker (sync
    requests publish ticks) and the read model's folder, and lets running registrations
    finish."""
    projection = read_model_projection(parts.settings, parts.store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await parts.broker.start()
        try:
            async with projection_running(projection):
                yield
        finally:
            if registrations is not None:
                await registrations.aclose()
            await parts.broker.stop()

    return control_api(
        parts.settings,
        parts.store,
        parts.vault,
        registrations,
        publish_tick=kafka_tick_publisher(parts.broker),
        projection=projection,
        publish_event=kafka_event_publisher(parts.broker),
        broker=parts.broker,
        ping=parts.broker.ping,
        lifespan=lifespan,
    )


def control_protocol(settings: ControlSettings, store: StateStore) -> type[asyncio.Protocol]:
    """The public server's guard (read deadlines, per-address cap), refusals audited."""
    return audited_guarded_protocol(
        settings, store, actor=ACTOR, retry_after_seconds=settings.http_retry_after_seconds
    )


async def serve(settings: ControlSettings) -> None:
    """Open the store, vault and broker from ``settings`` and serve until stopped."""
    configure_logging(service=settings.service_name, level=settings.log_level)
    vault = Vault.from_settings(settings)
    store = await StateStore.from_settings(settings)
    try:
        # The control plane consumes nothing: its broker only publishes (sync ticks), and
        # its dead-letter topic is the edge's, named explicitly.
        parts = ControlParts(
            settings=settings,
            store=store,
            vault=vault,
            broker=create_broker(
                settings, dead_letter_topic=dlq_topic("ingest"), services=SERVICES
            ),
        )
        registrations = webhook_registrations(settings, store, vault)
        async with observed(
            settings, parts.broker, consumes=False, samplers=[control_sampler(store)]
        ):
            await serve_guarded(
                build_app(parts, registrations=registrations),
                host=settings.control_host,
                port=settings.control_port,
                protocol=control_protocol(settings, store),
                settings=settings,
                store=store,
                actor=ACTOR,
            )
    finally:
        await store.close()
