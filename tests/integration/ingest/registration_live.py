"""An ingest service with webhook registrations, on a real socket, next to a vendor sandbox.

``registration_world`` serves the vendor's sandbox and the real ingest app
(``build_app`` with the operator API, the OAuth routes and ``WebhookRegistrations``) on
ports chosen up front, so ``MLC_PUBLIC_URL`` is known before anything registers. Vendors
that insist on https (BambooHR, BILL) are given ``https://hooks.example.test`` as the public
URL; the sandbox's delivery override then sends to the local ingest instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import Mount

from devstack.ports import free_port
from sandboxes.kit import VendorSandbox, build_app, serve
from schemas.envelope import utcnow
from services.control.connections import OperatorConnections
from services.control.link_health import projected_link_health
from services.control.oauth import OAuthFlow, vendor_http
from services.control.operator_api import operator_app
from services.control.projection import Projection, projection_running
from services.control.webhook_registrations import WebhookRegistrations
from services.ingest.app import IngestParts
from services.ingest.app import build_app as build_ingest
from services.ingest.schedules import kafka_tick_publisher
from services.ingest.settings import IngestSettings
from services.runtime.bus import create_broker
from services.runtime.oauth_tokens import TokenRefresher
from services.runtime.store import AuditRecord, ConnectionRecord, StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from services.runtime.vendor_plugin import KeyVendor, OAuthVendor, WebhookRegistrar
from services.runtime.webhook_handshakes import HandshakeConfirmations, VendorCredentials
from services.vendors import TOPICS, vendor_schedules

__all__ = ["OPERATOR", "Knowledge", "RegistrationWorld", "audit_actions", "registration_world"]

TOKEN = "registration-test-token"
OPERATOR = {"Authorization": f"Bearer {TOKEN}"}


@dataclass(frozen=True)
class Knowledge:
    """A vendor's parts for the test, built once the sandbox's base URL is known."""

    registrar: WebhookRegistrar | None = None
    oauth: OAuthVendor | None = None
    key_vendor: KeyVendor | None = None
    refresher: TokenRefresher | None = None


@dataclass
class RegistrationWorld:
    vendor: str
    sandbox: httpx.AsyncClient
    sandbox_url: str
    ingest: httpx.AsyncClient
    ingest_url: str
    public_url: str
    store: StateStore
    vault: Vault
    registrations: WebhookRegistrations

    async def connection(self, connection_id: str) -> ConnectionRecord:
        async with self.store.transaction() as tx:
            record = await tx.connections.get(connection_id)
        assert record is not None
        return record

    async def credential_fields(self, connection_id: str) -> list[str]:
        async with self.store.transaction() as tx:
            stored = await tx.credentials.list(connection_id=connection_id)
        return sorted(c.field for c in stored)


@asynccontextmanager
async def registration_world(
    tmp_path: Path,
    *,
    vendor: str,
    sandbox_app: VendorSandbox,
    knowledge: Callable[[str, Mapping[str, Any]], Knowledge],
    bootstrap: str,
    https_public_url: bool = False,
    webhooks_enabled: bool = True,
    clock: Callable[[], datetime] = utcnow,
    intake_clock: Callable[[], datetime] = utcnow,
    replay_windows: Mapping[str, float] | None = None,
    store: StateStore | None = None,
) -> AsyncIterator[RegistrationWorld]:
    """``intake_clock`` is what the webhook intake checks signed timestamps against;
    ``replay_windows`` default to the vendors' settings, as in ``python -m services.ingest``.
    ``store``: the test's own (it closes it), for parts that need it before the world exists."""
    opened_here = store is None
    if store is None:
        store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    port = free_port()
    ingest_url = f"http://127.0.0.1:{port}"
    public_url = "https://hooks.example.test" if https_public_url else ingest_url
    try:
        async with (
            serve(build_app(sandbox_app)) as sandbox_server,
            httpx.AsyncClient(base_url=sandbox_server.base_url, timeout=10) as sandbox,
        ):
            creds = (await sandbox.post("/_sandbox/credentials")).json()
            made = knowledge(sandbox_server.base_url, creds)
            registrations = WebhookRegistrations(
                store=store,
                vault=vault,
                registrars={vendor: made.registrar} if made.registrar else {},
                refreshers={vendor: made.refresher} if made.refresher else None,
                public_url=public_url,
                http=vendor_http,
                enabled=webhooks_enabled,
                vendor_schedules=vendor_schedules(),
            )
            flow = OAuthFlow(
                store=store,
                vault=vault,
                vendors={vendor: made.oauth} if made.oauth else {},
                key_vendors={vendor: made.key_vendor} if made.key_vendor else None,
                on_active=registrations.connection_active,
            )
            # The read model the status reads, kept as the control plane keeps it.
            projection = Projection(store, bootstrap, [t.name for t in TOPICS])
            operations = OperatorConnections(
                store,
                vault,
                lifecycle=registrations,
                link_health=projected_link_health(store, projection),
                clock=clock,
            )
            settings = IngestSettings(kafka_bootstrap_servers=bootstrap, public_url=public_url)
            parts = IngestParts(
                settings=settings, store=store, vault=vault, broker=create_broker(settings)
            )
            # The local stack's shape: the edge, and the control plane mounted behind it.
            control = operator_app(
                store,
                operations,
                operator_token=TOKEN,
                publish_tick=kafka_tick_publisher(parts.broker),
                flow=flow,
            )
            app = build_ingest(
                parts,
                routes=[Mount("", app=control)],
                # The edge's own confirmations, as in its own process: only the store is shared
                # with the registrations (which confirm the handshakes that came early).
                handshakes=HandshakeConfirmations(
                    store=store,
                    vault=vault,
                    confirmers={vendor: made.registrar} if made.registrar else {},
                    credentials=VendorCredentials(
                        store=store,
                        vault=vault,
                        refreshers={vendor: made.refresher} if made.refresher else None,
                    ),
                ),
                clock=intake_clock,
                replay_windows=replay_windows,
            )
            async with (
                serve(app, port=port),
                projection_running(projection),
                httpx.AsyncClient(base_url=ingest_url, headers=OPERATOR, timeout=30) as ingest,
            ):
                yield RegistrationWorld(
                    vendor=vendor,
                    sandbox=sandbox,
                    sandbox_url=sandbox_server.base_url,
                    ingest=ingest,
                    ingest_url=ingest_url,
                    public_url=public_url,
                    store=store,
                    vault=vault,
                    registrations=registrations,
                )
    finally:
        if opened_here:
            await store.close()


async def audit_actions(store: StateStore, subject: str) -> list[AuditRecord]:
    async with store.transaction() as tx:
        return list(reversed(await tx.audit_log.list(subject=subject, limit=100)))
