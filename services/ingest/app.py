"""The edge's composition root: a Starlette app built from injected parts.

:func:`build_app` wires the webhook intake (and whatever routes the caller adds: the local
stack adds the control plane's) to a broker, a state store and a vault it is given, and
its lifespan starts and stops the broker and the background parts (the tick scheduler).
It opens nothing itself, so tests hand it their own store and broker; :func:`serve` is
what ``python -m services.ingest`` runs: it opens the real parts from the settings, serves
with uvicorn behind the public server's guard and closes them again.

The edge confirms FreshBooks-style webhook handshakes itself (:func:`edge_handshakes`):
the control plane that registered the callback may be another process, and the store is
all the two share.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from schemas.envelope import utcnow
from schemas.raw import RawDelivery
from services.ingest.ledger_pruning import LedgerPruner
from services.ingest.schedules import SchedulerSettings, scheduler_running
from services.ingest.settings import IngestSettings
from services.ingest.webhooks import WebhookIntake, webhook_routes
from services.runtime.bus import create_broker
from services.runtime.logging import configure_logging
from services.runtime.observability import observed
from services.runtime.public_server import audited_guarded_protocol, healthz_route, serve_guarded
from services.runtime.publishing import publish
from services.runtime.settings import load_settings
from services.runtime.store import StateStore
from services.runtime.ticks import kafka_tick_publisher
from services.runtime.tracing import mark_correlation, tracer_provider
from services.runtime.vault import Vault
from services.runtime.webhook_handshakes import (
    HandshakeConfirmations,
    VendorCredentials,
    vendor_http,
)
from services.vendors import SERVICES, oauth_vendors, registrars, replay_windows

__all__ = [
    "ACTOR",
    "IngestParts",
    "Running",
    "build_app",
    "edge_handshakes",
    "edge_protocol",
    "edge_running",
    "ledger_pruner",
    "serve",
    "vendor_replay_windows",
]

ACTOR = "ingest"

Running = Callable[[], AbstractAsyncContextManager[object]]
"""A background part of the app, entered once the broker is connected."""


@dataclass(frozen=True, slots=True)
class IngestParts:
    """What the ingest app runs on; the caller opens and closes the store."""

    settings: IngestSettings
    store: StateStore
    vault: Vault
    broker: KafkaBroker


def build_app(
    parts: IngestParts,
    *,
    routes: Sequence[BaseRoute] = (),
    running: Sequence[Running] = (),
    clock: Callable[[], datetime] = utcnow,
    handshakes: HandshakeConfirmations | None = None,
    replay_windows: Mapping[str, float] | None = None,
) -> Starlette:
    """The ingest ASGI app: the webhook intake plus ``routes``; its lifespan runs the broker.

    ``running`` are background parts (e.g. the tick scheduler) as async context
    managers: entered in order once the broker is connected, exited in reverse before
    it stops. The intake is reachable as ``app.state.webhook_intake`` (tests wait on
    its ``in_flight``). ``handshakes`` confirm FreshBooks-style handshakes the intake
    receives (:func:`edge_handshakes`: the edge confirms them itself, whichever process
    registered the callback). ``replay_windows`` (vendor -> seconds) default to each
    vendor's own setting (:func:`vendor_replay_windows`).
    """

    async def publish_raw(event: RawDelivery, topic: str) -> RawDelivery:
        published = await publish(parts.broker, event, topic=topic)
        mark_correlation(str(published.correlation_id))  # on the webhook request's span
        return published

    intake = WebhookIntake(
        store=parts.store,
        vault=parts.vault,
        publish=publish_raw,
        settings=parts.settings,
        clock=clock,
        on_handshake=handshakes.received if handshakes else None,
        replay_windows=vendor_replay_windows() if replay_windows is None else replay_windows,
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await parts.broker.start()
        try:
            async with AsyncExitStack() as stack:
                for part in running:
                    await stack.enter_async_context(part())
                yield
        finally:
            await intake.aclose()
            if handshakes is not None:
                await handshakes.aclose()
            await parts.broker.stop()

    app = Starlette(
        routes=[
            healthz_route(
                parts.broker.ping,
                timeout=parts.settings.health_kafka_timeout_seconds,
                service=parts.settings.service_name,
            ),
            *webhook_routes(intake),
            *routes,
        ],
        lifespan=lifespan,
    )
    provider = tracer_provider(parts.settings.service_name)
    if provider is not None:  # the webhook request is where a record's trace begins
        app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider)
    # Starlette answers a path with a slash too many by a redirect built from the Host header
    # (an open redirect); at the edge a wrong path is a 404.
    app.router.redirect_slashes = False
    app.state.webhook_intake = intake
    return app


def vendor_replay_windows() -> dict[str, float]:
    """Vendors whose signed timestamps need a window other than MLC_WEBHOOK_REPLAY_WINDOW_SECONDS
    (each plugin's ``replay_window_seconds``: BambooHR retries for 155 minutes)."""
    return replay_windows()


def edge_handshakes(store: StateStore, vault: Vault) -> HandshakeConfirmations:
    """The edge's own handshake confirmations: each vendor's registrar that confirms one, and
    the OAuth refreshers its calls need (from the vendor registry)."""
    return HandshakeConfirmations(
        store=store,
        vault=vault,
        confirmers=registrars(),
        credentials=VendorCredentials(
            store=store, vault=vault, refreshers=oauth_vendors(), http=vendor_http
        ),
        http=vendor_http,
    )


def ledger_pruner(settings: IngestSettings, scheduler: SchedulerSettings) -> LedgerPruner:
    """The webhook ledger's pruner, keeping claims at least as long as any replay window."""
    windows = [settings.webhook_replay_window_seconds, *vendor_replay_windows().values()]
    return LedgerPruner(
        retention=timedelta(hours=settings.webhook_dedupe_retention_hours),
        lease_ttl=scheduler.lease_ttl,
        replay_windows=[timedelta(seconds=w) for w in windows],
    )


def edge_running(parts: IngestParts) -> list[Running]:
    """The edge's background parts: the tick scheduler (with the ledger's pruning), unless
    ``MLC_SCHEDULER_ENABLED`` is false in this replica."""
    scheduler_settings = load_settings(SchedulerSettings)

    def scheduler() -> AbstractAsyncContextManager[object]:
        return scheduler_running(
            store=parts.store,
            publisher=kafka_tick_publisher(parts.broker),
            settings=scheduler_settings,
            pruner=ledger_pruner(parts.settings, scheduler_settings),
        )

    return [scheduler] if scheduler_settings.enabled else []


def edge_protocol(settings: IngestSettings, store: StateStore) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with the edge's read deadlines and per-address connection cap;
    every connection a limit ends is written to the audit log (``http.refused``)."""
    return audited_guarded_protocol(
        settings, store, actor=ACTOR, retry_after_seconds=settings.webhook_retry_after_seconds
    )


async def serve(settings: IngestSettings) -> None:
    """Open the store, vault and broker from ``settings`` and serve until stopped."""
    configure_logging(service=settings.service_name, level=settings.log_level)
    vault = Vault.from_settings(settings)
    store = await StateStore.from_settings(settings)
    try:
        parts = IngestParts(
            settings=settings,
            store=store,
            vault=vault,
            broker=create_broker(settings, services=SERVICES),
        )
        app = build_app(
            parts, running=edge_running(parts), handshakes=edge_handshakes(store, vault)
        )
        async with observed(settings, parts.broker, consumes=False):
            await serve_guarded(
                app,
                host=settings.ingest_host,
                port=settings.ingest_port,
                protocol=edge_protocol(settings, store),
                settings=settings,
                store=store,
                actor=ACTOR,
            )
    finally:
        await store.close()
