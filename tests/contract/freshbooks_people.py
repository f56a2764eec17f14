"""The FreshBooks people sink bound to the sink contract: the sandbox in-process.

The connection is consented the way ingest does it (the sandbox's auto-consenting
authorize page, the code exchange, users/me for the account and business ids), over
httpx's ASGI transport: no socket, no Kafka.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from schemas.people import EmployeeChanged
from schemas.snapshot import Snapshot
from services.freshbooks.access import FLOW
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sinks.people import PeopleSink
from services.runtime.store import StateStore
from services.runtime.vault import Vault
from tests.contract.employee_screener import employee_screener
from tests.contract.freshbooks_in_process import (
    freshbooks_previewer,
    freshbooks_sink_replica,
    in_process_books,
)
from tests.contract.sandbox_counts import SandboxCounts
from tests.contract.sink_contract import Deliver, Preview, RecordingPublisher, Screen

__all__ = ["FreshBooksPeople", "freshbooks_people"]

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
        async with freshbooks_sink_replica(
            self,
            PeopleSink,
            lease_seconds=self.settings.person_lease_seconds,
            crashing=crash_before_bookkeeping,
        ) as sink:

            async def deliver(snapshot: Snapshot) -> None:
                assert isinstance(snapshot, EmployeeChanged)
                await sink.employee_changed(snapshot)

            yield deliver

    def screener(self) -> AbstractAsyncContextManager[tuple[Deliver, Screen]]:
        return employee_screener(
            freshbooks_sink_replica(
                self, PeopleSink, lease_seconds=self.settings.person_lease_seconds, crashing=False
            )
        )

    def previewer(self) -> AbstractAsyncContextManager[Preview]:
        return freshbooks_previewer(
            self, PeopleSink, lease_seconds=self.settings.person_lease_seconds
        )

    async def created(self, entity: str) -> int:
        email = f"{entity}@acmecreative.example"
        return sum(1 for m in await self.state("team_members") if m.get("email") == email)


@asynccontextmanager
async def freshbooks_people(tmp_path: Path) -> AsyncIterator[FreshBooksPeople]:
    """A consented FreshBooks account in an in-process sandbox, linked from a source."""
    async with in_process_books(tmp_path) as books:
        async with books.store.transaction() as repos:
            source = await repos.connections.create(
                vendor="bamboohr", tenant_id="default", display_name="HR"
            )
            await repos.links.create(
                source_connection_id=source.id, target_connection_id=books.connection_id, flow=FLOW
            )
        await books.control.delete("/_sandbox/requests")
        yield FreshBooksPeople(
            app=books.app,
            control=books.control,
            store=books.store,
            vault=books.vault,
            settings=books.settings,
            source_connection_id=source.id,
        )
