"""The Zoho Books contacts sink bound to the sink contract: the sandbox in-process.

The organisation is consented the way the control plane does it (Zoho's multi-region
consent started at the US accounts server, the code exchanged at the user's own one, the
organisation read from ``/organizations``), over httpx's ASGI transport: no socket, no Kafka.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from uuid import uuid4

import httpx
from pydantic import SecretStr
from starlette.types import ASGIApp

from sandboxes.kit import build_app
from sandboxes.zoho.app import ZohoSandbox
from schemas.people import EmployeeChanged
from schemas.snapshot import Snapshot
from services.runtime.http import build_client
from services.runtime.oauth_tokens import save_tokens
from services.runtime.outcomes import Outcomes
from services.runtime.retry import RetryPolicy
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from services.zoho.access import FLOW, ZohoAccess
from services.zoho.auth import ZohoOAuth
from services.zoho.quota import DailyQuota
from services.zoho.settings import ZohoSettings
from services.zoho.sinks.contacts import ContactsSink
from tests.contract.employee_screener import employee_screener
from tests.contract.sandbox_counts import SandboxCounts
from tests.contract.sink_contract import (
    Deliver,
    Preview,
    RecordingPublisher,
    Screen,
    link_previewer,
    replica_upsert,
)

__all__ = ["ZohoContacts", "zoho_contacts"]

ORIGIN = "http://zoho.sandbox.test"
_BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class ZohoContacts(SandboxCounts):
    not_writes = ("/oauth/",)

    app: ASGIApp
    control: httpx.AsyncClient
    store: StateStore
    vault: Vault
    settings: ZohoSettings
    source_connection_id: str
    published: RecordingPublisher = field(default_factory=RecordingPublisher)
    # Zoho sends no Retry-After and its client retries no 429 in place: every one of these
    # reaches the bus, which delivers the message again.
    storm: Sequence[Mapping[str, Any]] = (
        {"path": "/books/v3/contacts$", "method": "GET", "status": 429, "count": 2},
        {"path": "/books/v3/contacts$", "method": "POST", "status": 429, "count": 2},
    )

    def record(self, entity: str, *, version: int = 1, variant: int = 0) -> EmployeeChanged:
        return EmployeeChanged(
            connection_id=self.source_connection_id,
            occurred_at=_BASE + timedelta(minutes=version),
            source_updated_at=_BASE + timedelta(minutes=version),
            employee_id=entity,
            status="active",
            first_name="Noor",
            last_name=f"Haddad{variant}",
            work_email=f"{entity}@consultancy.example",
            department="Engineering",
        )

    @asynccontextmanager
    async def replica(self, *, crash_before_bookkeeping: bool = False) -> AsyncIterator[Deliver]:
        async with self._sink(crashing=crash_before_bookkeeping) as sink:

            async def deliver(snapshot: Snapshot) -> None:
                assert isinstance(snapshot, EmployeeChanged)
                await sink.employee_changed(snapshot)

            yield deliver

    def previewer(self) -> AbstractAsyncContextManager[Preview]:
        return link_previewer(self._sink(crashing=False), self.store)

    def screener(self) -> AbstractAsyncContextManager[tuple[Deliver, Screen]]:
        return employee_screener(self._sink(crashing=False))

    @asynccontextmanager
    async def _sink(self, *, crashing: bool) -> AsyncIterator[ContactsSink]:
        """A new replica of the sink: its own clients, quota view and lease holder."""
        holder = f"replica-{uuid4().hex}"
        retry = RetryPolicy(retry_statuses=frozenset({500, 502, 503, 504}))  # as in production
        access = ZohoAccess(
            store=self.store,
            vault=self.vault,
            settings=self.settings,
            quota=DailyQuota(
                self.store,
                reserve=self.settings.daily_quota_reserve,
                max_wait_seconds=self.settings.max_quota_wait_seconds,
            ),
            http=lambda base_url, key: build_client(
                vendor="test",
                base_url=base_url,
                connection_key=f"{key}:{holder}",
                retry=retry,
                transport=httpx.ASGITransport(self.app),
            ),
        )
        sink = ContactsSink(
            store=self.store,
            access=access,
            settings=self.settings,
            outcomes=Outcomes(self.published, service="zoho"),
            holder=holder,
            upsert=replica_upsert(
                self.store,
                holder,
                lease_seconds=self.settings.person_lease_seconds,
                crashing=crashing,
            ),
        )
        try:
            yield sink
        finally:
            await access.aclose()

    async def created(self, entity: str) -> int:
        email = f"{entity}@consultancy.example"
        return sum(
            1
            for c in await self.state("contacts")
            if any(p.get("email") == email for p in c.get("contact_persons", []))
        )


@asynccontextmanager
async def zoho_contacts(tmp_path: Path) -> AsyncIterator[ZohoContacts]:
    """A consented Zoho Books organisation (EU) in an in-process sandbox, linked from a source."""
    sandbox = ZohoSandbox()
    app = build_app(sandbox)
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url=ORIGIN
        ) as control:
            creds = (await control.post("/_sandbox/credentials")).raise_for_status().json()
            settings = ZohoSettings(
                accounts_base_url=f"{ORIGIN}/accounts.zoho.com",
                trusted_accounts_servers=(f"{ORIGIN}/accounts.zoho.",),
                trusted_api_domains=(f"{ORIGIN}/www.zohoapis.",),
                client_id=creds["client_id"],
                client_secret=SecretStr(creds["client_secret"]),
                redirect_uri=creds["redirect_uri"],
            )
            auth = ZohoOAuth(settings)
            consent = await control.get(auth.authorize_url("contract", {}))
            callback = dict(parse_qsl(urlsplit(consent.headers["location"]).query))
            tokens = await auth.exchange_code(control, callback["code"], callback)
            identity = await auth.read_identity(control, tokens, callback)
            async with store.transaction() as repos:
                target = await repos.connections.create(
                    vendor="zoho", tenant_id="default", display_name="Books EU", settings=identity
                )
                await save_tokens(repos, vault, target.id, tokens)
                source = await repos.connections.create(
                    vendor="bamboohr", tenant_id="default", display_name="HR"
                )
                await repos.links.create(
                    source_connection_id=source.id, target_connection_id=target.id, flow=FLOW
                )
            await control.delete("/_sandbox/requests")
            yield ZohoContacts(
                app=app,
                control=control,
                store=store,
                vault=vault,
                settings=settings,
                source_connection_id=source.id,
            )
    finally:
        await store.close()
        await sandbox.aclose()
