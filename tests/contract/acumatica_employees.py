"""The Acumatica employees sink bound to the sink contract: the sandbox in-process.

The connection is stored the way the control plane stores a password connection (the
instance, user, tenant and versions as settings; the password encrypted in the vault),
over httpx's ASGI transport: no socket, no Kafka.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from starlette.types import ASGIApp

from sandboxes.acumatica.app import AcumaticaSandbox
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.kit import build_app
from schemas.people import EmployeeChanged
from schemas.snapshot import Snapshot
from services.acumatica.access import FLOW, PASSWORD_FIELD, AcumaticaAccess
from services.acumatica.settings import AcumaticaSettings
from services.acumatica.sinks.employees import EmployeesSink
from services.runtime.http import build_client
from services.runtime.outcomes import Outcomes
from services.runtime.retry import RetryPolicy
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
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

__all__ = ["AcumaticaEmployees", "acumatica_employees", "store_connection"]

ORIGIN = "http://acumatica.sandbox.test"
_BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def store_connection(
    store: StateStore, vault: Vault, credentials: Mapping[str, Any], base_url: str
) -> str:
    """An Acumatica connection as the control plane stores one; its id."""
    plain = {
        name: str(credentials[name])
        for name in (
            "username",
            "tenant",
            "branch",
            "endpoint",
            "version",
            "department_endpoint",
            "department_endpoint_version",
        )
    }
    async with store.transaction() as repos:
        record = await repos.connections.create(
            vendor="acumatica",
            tenant_id="default",
            display_name="Acumatica",
            settings={"credential_style": "password", "base_url": base_url, **plain},
        )
        token = vault.encrypt(
            str(credentials["password"]), connection_id=record.id, field=PASSWORD_FIELD
        )
        await repos.credentials.put(
            record.id, PASSWORD_FIELD, token=token, key_id=Vault.key_id_of(token)
        )
    return record.id


@dataclass
class AcumaticaEmployees(SandboxCounts):
    not_writes = ("/entity/auth/", "/identity/")

    app: ASGIApp
    control: httpx.AsyncClient
    store: StateStore
    vault: Vault
    settings: AcumaticaSettings
    source_connection_id: str
    published: RecordingPublisher = field(default_factory=RecordingPublisher)
    # The client retries a 429 in place with backoff (the licence's limit): the storm is met
    # and waited out inside one attempt.
    storm: Sequence[Mapping[str, Any]] = (
        {"path": "/Employee$", "method": "GET", "status": 429, "count": 2},
        {"path": "/Employee$", "method": "PUT", "status": 429, "count": 2},
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
            department="Administration",
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
    async def _sink(self, *, crashing: bool) -> AsyncIterator[EmployeesSink]:
        """A new replica of the sink: its own session, departments and lease holder."""
        holder = f"replica-{uuid4().hex}"
        retry = RetryPolicy(
            base_backoff=0.01, max_backoff=0.05, retry_statuses=frozenset({429, 502, 503, 504})
        )
        access = AcumaticaAccess(
            store=self.store,
            vault=self.vault,
            settings=self.settings,
            holder=holder,
            http=lambda key: build_client(
                vendor="test",
                base_url="",
                connection_key=f"{key}:{holder}",
                retry=retry,
                transport=httpx.ASGITransport(self.app),
            ),
        )
        sink = EmployeesSink(
            store=self.store,
            access=access,
            settings=self.settings,
            outcomes=Outcomes(self.published, service="acumatica"),
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
            for e in await self.state("employees")
            if str((e.get("ContactInfo") or {}).get("Email") or "").lower() == email
        )


@asynccontextmanager
async def acumatica_employees(tmp_path: Path) -> AsyncIterator[AcumaticaEmployees]:
    """An Acumatica tenant in an in-process sandbox, linked from a source connection."""
    sandbox = AcumaticaSandbox(settings=AcumaticaSandboxSettings(throttle_delay_scale=0.0))
    app = build_app(sandbox)
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url=ORIGIN
        ) as control:
            creds = (await control.post("/_sandbox/credentials")).raise_for_status().json()
            target = await store_connection(store, vault, creds, f"{ORIGIN}/AcumaticaERP")
            async with store.transaction() as repos:
                source = await repos.connections.create(
                    vendor="bamboohr", tenant_id="default", display_name="HR"
                )
                await repos.links.create(
                    source_connection_id=source.id, target_connection_id=target, flow=FLOW
                )
            await control.delete("/_sandbox/requests")
            yield AcumaticaEmployees(
                app=app,
                control=control,
                store=store,
                vault=vault,
                settings=AcumaticaSettings(),
                source_connection_id=source.id,
            )
    finally:
        await store.close()
