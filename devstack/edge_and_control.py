"""The local stack's one server: the webhook edge and the control plane in one process.

``python -m devstack.edge_and_control`` serves on ``MLC_INGEST_HOST:PORT`` what a
deployment runs as two (``python -m services.ingest`` and ``python -m services.control``):
the sandbox apps' OAuth callbacks and the vendors' webhooks point at one address, and
``make up`` stays one process to watch. Both halves are the deployed ones over one store,
vault and broker; the edge confirms handshakes itself, as it does deployed alone.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.routing import Mount

import services.lean_start  # noqa: F401  (first of ours: before anything imports structlog)
from services.control.app import control_api, read_model_projection, webhook_registrations
from services.control.ops_gauges import control_sampler
from services.control.projection import projection_running
from services.control.review import kafka_event_publisher
from services.control.settings import ControlSettings
from services.ingest.app import ACTOR as EDGE_ACTOR
from services.ingest.app import (
    IngestParts,
    Running,
    build_app,
    edge_handshakes,
    edge_protocol,
    edge_running,
)
from services.ingest.settings import IngestSettings
from services.runtime.bus import create_broker
from services.runtime.logging import configure_logging
from services.runtime.observability import observed
from services.runtime.ops_server import OpsPortError
from services.runtime.public_server import serve_guarded
from services.runtime.settings import SettingsError, load_settings
from services.runtime.store import StateStore, StoreError
from services.runtime.ticks import kafka_tick_publisher
from services.runtime.vault import Vault, VaultError
from services.vendors import SERVICES

__all__ = ["main", "serve"]

EXIT_MISCONFIGURED = 2


async def serve(edge: IngestSettings, control: ControlSettings) -> None:
    """Open the store, vault and broker once and serve both halves until stopped."""
    configure_logging(service=edge.service_name, level=edge.log_level)
    vault = Vault.from_settings(edge)
    store = await StateStore.from_settings(edge)
    try:
        parts = IngestParts(
            settings=edge,
            store=store,
            vault=vault,
            broker=create_broker(edge, services=SERVICES),
        )
        registrations = webhook_registrations(control, store, vault)

        @asynccontextmanager
        async def registrations_closed() -> AsyncIterator[None]:
            try:
                yield
            finally:
                await registrations.aclose()

        projection = read_model_projection(control, store)
        running: list[Running] = [
            registrations_closed,
            lambda: projection_running(projection),
            *edge_running(parts),
        ]
        app = build_app(
            parts,
            # The edge's routes (its /healthz, the webhooks) first; the rest is the control
            # plane's, whose own lifespan does not run mounted: `running` closes its parts.
            routes=[
                Mount(
                    "",
                    app=control_api(
                        control,
                        store,
                        vault,
                        registrations,
                        publish_tick=kafka_tick_publisher(parts.broker),
                        projection=projection,
                        publish_event=kafka_event_publisher(parts.broker),
                        broker=parts.broker,
                        ping=parts.broker.ping,
                    ),
                )
            ],
            running=running,
            handshakes=edge_handshakes(store, vault),
        )
        async with observed(edge, parts.broker, consumes=False, samplers=[control_sampler(store)]):
            await serve_guarded(
                app,
                host=edge.ingest_host,
                port=edge.ingest_port,
                protocol=edge_protocol(edge, store),
                settings=edge,
                store=store,
                actor=EDGE_ACTOR,
            )
    finally:
        await store.close()


def main() -> None:
    """Read both halves' settings and serve; a bad setting exits 2 with its name."""
    try:
        edge = load_settings(IngestSettings)
        control = load_settings(ControlSettings)
        asyncio.run(serve(edge, control))
    except (SettingsError, VaultError, StoreError, OpsPortError) as exc:
        print(f"devstack.edge_and_control: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_MISCONFIGURED) from None


if __name__ == "__main__":
    main()
