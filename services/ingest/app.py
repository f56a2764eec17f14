"""The ingest service's composition root: a Starlette app built from injected parts.

:func:`build_app` wires the webhook intake (and whatever routes other parts of the
service add) to a broker, a state store and a vault it is given, and its lifespan
starts and stops the broker. It opens nothing itself, so tests hand it their own
store and broker; :func:`serve` is what ``python -m services.ingest`` runs: it opens the
real parts from the settings, serves with uvicorn and closes them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import uvicorn
from faststream.kafka import KafkaBroker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from schemas.envelope import utcnow
from schemas.raw import RawDelivery
from services.acumatica.ping import AcumaticaPing
from services.acumatica.settings import AcumaticaSettings
from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.webhook_registration import BambooHRWebhookRegistrar
from services.bill.ping import BillPing
from services.bill.settings import BillSettings
from services.bill.webhook_registration import BillWebhookRegistrar
from services.expensify.ping import ExpensifyPing
from services.expensify.settings import ExpensifySettings
from services.freshbooks.auth import FreshBooksOAuth
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.webhook_registration import FreshBooksWebhookRegistrar
from services.ingest.audit import record_connection_refusal
from services.ingest.connections import OperatorConnections
from services.ingest.ledger_pruning import LedgerPruner
from services.ingest.link_health import kafka_link_health
from services.ingest.oauth import OAuthFlow, oauth_routes, vendor_http
from services.ingest.operator_api import operator_routes
from services.ingest.schedules import (
    SchedulerSettings,
    TickPublisher,
    kafka_tick_publisher,
    scheduler_running,
)
from services.ingest.settings import IngestSettings
from services.ingest.webhook_registrations import ScheduleDefaults, WebhookRegistrations
from services.ingest.webhooks import WebhookIntake, webhook_routes
from services.runtime.bus import create_broker
from services.runtime.logging import configure_logging
from services.runtime.publishing import publish
from services.runtime.readiness import BrokerReadiness
from services.runtime.server_limits import ConnectionRefused, ServerLimits, guarded_protocol
from services.runtime.settings import load_settings
from services.runtime.store import StateStore
from services.runtime.vault import Vault
from services.zoho.auth import ZohoOAuth
from services.zoho.settings import ZohoSettings
from services.zoho.webhook_registration import ZohoWebhookRegistrar

__all__ = [
    "IngestParts",
    "build_app",
    "ledger_pruner",
    "serve",
    "vendor_replay_windows",
    "webhook_registrations",
]


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
    running: Sequence[Callable[[], AbstractAsyncContextManager[object]]] = (),
    clock: Callable[[], datetime] = utcnow,
    registrations: WebhookRegistrations | None = None,
    replay_windows: Mapping[str, float] | None = None,
) -> Starlette:
    """The ingest ASGI app: the webhook intake plus ``routes``; its lifespan runs the broker.

    ``running`` are background parts (e.g. the tick scheduler) as async context
    managers: entered in order once the broker is connected, exited in reverse before
    it stops. The intake is reachable as ``app.state.webhook_intake`` (tests wait on
    its ``in_flight``). ``registrations`` confirm FreshBooks-style handshakes the intake
    receives. ``replay_windows`` (vendor -> seconds) default to each vendor's own setting
    (:func:`vendor_replay_windows`).
    """

    async def publish_raw(event: RawDelivery, topic: str) -> RawDelivery:
        return await publish(parts.broker, event, topic=topic)

    intake = WebhookIntake(
        store=parts.store,
        vault=parts.vault,
        publish=publish_raw,
        settings=parts.settings,
        clock=clock,
        on_handshake=registrations.handshake_received if registrations else None,
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
            if registrations is not None:
                await registrations.aclose()
            await parts.broker.stop()

    readiness = BrokerReadiness(
        parts.broker.ping, timeout=parts.settings.health_kafka_timeout_seconds
    )

    async def healthz(_: Request) -> JSONResponse:
        # Every delivery needs Kafka's ack: without the broker the intake can only answer 503.
        service = parts.settings.service_name
        if not await readiness.ready():
            return JSONResponse(
                {"status": "unavailable", "service": service, "error": "Kafka does not answer"},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "service": service})

    app = Starlette(
        routes=[Route("/healthz", healthz, methods=["GET"]), *webhook_routes(intake), *routes],
        lifespan=lifespan,
    )
    # Starlette answers a path with a slash too many by a redirect built from the Host header
    # (an open redirect); at the edge a wrong path is a 404.
    app.router.redirect_slashes = False
    app.state.webhook_intake = intake
    return app


def vendor_replay_windows() -> dict[str, float]:
    """Vendors whose signed timestamps need a window other than MLC_WEBHOOK_REPLAY_WINDOW_SECONDS.

    BambooHR re-sends a failed delivery for 155 minutes (see docs/ingest.md), so its window
    is its own setting rather than the 5-minute default.
    """
    return {"bamboohr": load_settings(BambooHRSettings).webhook_replay_window_seconds}


def ledger_pruner(settings: IngestSettings, scheduler: SchedulerSettings) -> LedgerPruner:
    """The webhook ledger's pruner, keeping claims at least as long as any replay window."""
    windows = [settings.webhook_replay_window_seconds, *vendor_replay_windows().values()]
    return LedgerPruner(
        retention=timedelta(hours=settings.webhook_dedupe_retention_hours),
        lease_ttl=scheduler.lease_ttl,
        replay_windows=[timedelta(seconds=w) for w in windows],
    )


def webhook_registrations(
    settings: IngestSettings, store: StateStore, vault: Vault
) -> WebhookRegistrations:
    """Each vendor's webhook registrar, behind the vendor-neutral registrations."""
    bamboohr = load_settings(BambooHRSettings)
    freshbooks = load_settings(FreshBooksSettings)
    zoho = load_settings(ZohoSettings)
    return WebhookRegistrations(
        store=store,
        vault=vault,
        registrars={
            "bamboohr": BambooHRWebhookRegistrar(bamboohr),
            "freshbooks": FreshBooksWebhookRegistrar(freshbooks),
            "bill": BillWebhookRegistrar(load_settings(BillSettings)),
            "zoho": ZohoWebhookRegistrar(zoho),
        },
        refreshers={
            "bamboohr": BambooHRAuth(bamboohr),
            "freshbooks": FreshBooksOAuth(freshbooks),
            "zoho": ZohoOAuth(zoho),
        },
        public_url=settings.public_url,
        http=vendor_http,
        enabled=settings.webhooks_enabled,
        schedules=ScheduleDefaults(
            poll_every_seconds=settings.poll_every_seconds,
            reconcile_every_seconds=settings.reconcile_every_seconds,
            reconcile_offset_seconds=settings.reconcile_offset_seconds,
        ),
    )


def operator_facing_routes(
    settings: IngestSettings,
    store: StateStore,
    vault: Vault,
    registrations: WebhookRegistrations | None = None,
    publish_tick: TickPublisher | None = None,
) -> list[BaseRoute]:
    """The operator API and the OAuth consent routes, wired to each vendor's knowledge."""
    token = settings.operator_token.get_secret_value() if settings.operator_token else None
    bamboohr = BambooHRAuth(load_settings(BambooHRSettings))
    flow = OAuthFlow(
        store=store,
        vault=vault,
        vendors={
            "bamboohr": bamboohr,
            "freshbooks": FreshBooksOAuth(load_settings(FreshBooksSettings)),
            "zoho": ZohoOAuth(load_settings(ZohoSettings)),
        },
        key_vendors={
            "bamboohr": bamboohr,
            "bill": BillPing(load_settings(BillSettings)),
            "acumatica": AcumaticaPing(load_settings(AcumaticaSettings)),
            "expensify": ExpensifyPing(load_settings(ExpensifySettings)),
        },
        on_active=registrations.connection_active if registrations else None,
    )
    operations = OperatorConnections(
        store,
        vault,
        lifecycle=registrations,
        link_health=kafka_link_health(settings.kafka_bootstrap_servers),
    )
    return [
        *operator_routes(store, operations, operator_token=token, publish_tick=publish_tick),
        *oauth_routes(flow, operator_token=token),
    ]


async def serve(settings: IngestSettings) -> None:
    """Open the store, vault and broker from ``settings`` and serve until stopped."""
    configure_logging(service=settings.service_name, level=settings.log_level)
    scheduler_settings = load_settings(SchedulerSettings)
    vault = Vault.from_settings(settings)
    store = await StateStore.from_settings(settings)
    try:
        parts = IngestParts(
            settings=settings, store=store, vault=vault, broker=create_broker(settings)
        )

        def scheduler() -> AbstractAsyncContextManager[object]:
            return scheduler_running(
                store=store,
                publisher=kafka_tick_publisher(parts.broker),
                settings=scheduler_settings,
                pruner=ledger_pruner(settings, scheduler_settings),
            )

        running = [scheduler] if scheduler_settings.enabled else []
        registrations = webhook_registrations(settings, store, vault)
        routes = operator_facing_routes(
            settings,
            store,
            vault,
            registrations,
            publish_tick=kafka_tick_publisher(parts.broker),
        )
        config = uvicorn.Config(
            build_app(parts, routes=routes, running=running, registrations=registrations),
            host=settings.ingest_host,
            port=settings.ingest_port,
            log_config=None,
            proxy_headers=False,
            http=edge_protocol(settings, store),
            limit_concurrency=settings.http_max_connections,
        )
        await uvicorn.Server(config).serve()
    finally:
        await store.close()


def edge_protocol(settings: IngestSettings, store: StateStore) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with the edge's read deadlines and per-address connection cap;
    every connection a limit ends is written to the audit log (``http.refused``)."""
    writing: set[asyncio.Task[bool]] = set()

    def audit(client: str | None, reason: ConnectionRefused) -> None:
        status = 503 if reason == "too_many_connections" else 408
        task = asyncio.create_task(
            record_connection_refusal(store, reason=reason, status=status, client=client)
        )
        writing.add(task)
        task.add_done_callback(writing.discard)

    limits = ServerLimits(
        header_timeout=settings.http_header_timeout_seconds,
        body_timeout=settings.http_body_timeout_seconds,
        connections_per_client=settings.http_connections_per_client,
        retry_after_seconds=settings.webhook_retry_after_seconds,
    )
    return guarded_protocol(limits, on_refused=audit)
