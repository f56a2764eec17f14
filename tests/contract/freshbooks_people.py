"""The FreshBooks people sink bound to the sink contract: the sandbox in-process.

The connection is consented the way ingest does it (the sandbox's auto-consenting
authorize page, the code exchange, users/me for the account and business ids), over
httpx's ASGI transport: no socket, no Kafka.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
from pydantic import SecretStr
from starlette.types import ASGIApp

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.kit import build_app
from schemas.people import EmployeeChanged
from schemas.snapshot import Snapshot
from services.freshbooks.access import FLOW, FreshBooksAccess
from services.freshbooks.auth import FreshBooksOAuth
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sinks.people import PeopleSink
from services.runtime.http import build_client
from services.runtime.oauth_tokens import save_tokens
from services.runtime.outcomes import Outcomes
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.contract.sandbox_counts import SandboxCounts
from tests.contract.sink_contract import Deliver, RecordingPublisher, replica_upsert

__all__ = ["ORIGIN", "FreshBooksPeople", "connect_books", "freshbooks_people"]

ORIGIN = "http://freshbooks.sandbox.test"
_BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class FreshBooksPeople(SandboxCounts):
    not_writes = ("/oauth/",)

    app: ASGIApp
    control: httpx.AsyncClient
    store: StateStore
    vault: Vault
    settings: FreshBooksSettings
    source_connection_id: str
    published: RecordingPublisher = field(default_factory=RecordingPublisher)
    # 429s without Retry-After reach the bus; with it the HTTP layer waits them out.
    storm: Sequence[Mapping[str, Any]] = (
        {"path": "/team_members", "status": 429, "count": 2, "retry_after": 0},
        {"path": "/users/invitation", "status": 429, "count": 3},
        {"path": "/users/staffs", "status": 429, "count": 3, "retry_after": 0},
    )

    def record(self, entity: str, *, version: int = 1, variant: int = 0) -> EmployeeChanged:
        return EmployeeChanged(
            connection_id=self.source_connection_id,
            occurred_at=_BASE + timedelta(minutes=version),
            source_updated_at=_BASE + timedelta(minutes=version),
            employee_id=entity,
            status="active",
            first_name="Maya",
            last_name=f"Lopez{variant}",
            work_email=f"{entity}@acmecreative.example",
            department="Engineering",
        )

    @asynccontextmanager
    async def replica(self, *, crash_before_bookkeeping: bool = False) -> AsyncIterator[Deliver]:
        access = FreshBooksAccess(
            store=self.store,
            vault=self.vault,
            settings=self.settings,
            http=lambda base_url, key: build_client(
                base_url=base_url, connection_key=key, transport=httpx.ASGITransport(self.app)
            ),
        )
        holder = f"replica-{uuid4().hex}"
        sink = PeopleSink(
            store=self.store,
            access=access,
            settings=self.settings,
            outcomes=Outcomes(self.published, service="freshbooks"),
            holder=holder,
            upsert=replica_upsert(
                self.store,
                holder,
                lease_seconds=self.settings.person_lease_seconds,
                crashing=crash_before_bookkeeping,
            ),
        )

        async def deliver(snapshot: Snapshot) -> None:
            assert isinstance(snapshot, EmployeeChanged)
            await sink.employee_changed(snapshot)

        try:
            yield deliver
        finally:
            await access.aclose()

    async def created(self, entity: str) -> int:
        email = f"{entity}@acmecreative.example"
        return sum(1 for m in await self.state("team_members") if m.get("email") == email)


async def connect_books(
    control: httpx.AsyncClient, store: StateStore, vault: Vault
) -> tuple[FreshBooksSettings, str]:
    """A FreshBooks connection consented as ingest does it (in-process); settings and id."""
    creds = (await control.post("/_sandbox/credentials")).raise_for_status().json()
    settings = FreshBooksSettings(
        auth_base_url=ORIGIN,
        api_base_url=ORIGIN,
        client_id=creds["client_id"],
        client_secret=SecretStr(creds["client_secret"]),
        redirect_uri=creds["redirect_uri"],
    )
    auth = FreshBooksOAuth(settings)
    consent = await control.get(auth.authorize_url("contract", {}))
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    tokens = await auth.exchange_code(control, code, {})
    identity = await auth.read_identity(control, tokens, {})
    async with store.transaction() as repos:
        books = await repos.connections.create(
            vendor="freshbooks", tenant_id="default", display_name="Books", settings=identity
        )
        await save_tokens(repos, vault, books.id, tokens)
    return settings, books.id


@asynccontextmanager
async def freshbooks_people(tmp_path: Path) -> AsyncIterator[FreshBooksPeople]:
    """A consented FreshBooks account in an in-process sandbox, linked from a source."""
    sandbox = FreshBooksSandbox()
    app = build_app(sandbox)
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url=ORIGIN
        ) as control:
            settings, target_id = await connect_books(control, store, vault)
            async with store.transaction() as repos:
                source = await repos.connections.create(
                    vendor="bamboohr", tenant_id="default", display_name="HR"
                )
                await repos.links.create(
                    source_connection_id=source.id, target_connection_id=target_id, flow=FLOW
                )
            await control.delete("/_sandbox/requests")
            yield FreshBooksPeople(
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
