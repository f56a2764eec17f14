"""The BambooHR option-list sink wired to real parts: the sandbox on a socket, a SQLite
store, a BambooHR connection linked to another side's connection (flow people-zoho).

The other side is only a connection record here: its list events are built by the test,
as its source would publish them. Outcomes are kept in a list instead of Kafka.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.kit import build_app, serve
from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.people import DepartmentChanged, JobTitleChanged
from services.bamboohr.access import BambooHRAccess
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.sinks.option_lists import OptionListSink
from services.runtime.outcomes import Outcomes
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.integration.bamboohr.bamboohr_source_rig import add_connection, bamboohr_settings

__all__ = ["ListsWorld", "lists_world"]

_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class ListsWorld:
    control: httpx.AsyncClient  # the sandbox's origin: control API and the company's API
    store: StateStore
    vault: Vault
    settings: BambooHRSettings
    bamboohr_id: str
    other_id: str  # the other side's connection (a Zoho Books organisation, say)
    link_id: str
    sink: OptionListSink
    outcomes: list[SyncOutcome] = field(default_factory=list)

    async def options(self, alias: str) -> dict[str, dict[str, Any]]:
        """The sandbox's options of one list, by name (what BambooHR now holds)."""
        answer = await self.control.get("/_sandbox/state/lists")
        answer.raise_for_status()
        listed = next(f for f in answer.json() if f.get("alias") == alias)
        return {str(o["name"]): o for o in listed["options"]}

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """BambooHR API calls the sandbox logged (optionally one method's)."""
        answer = await self.control.get("/_sandbox/requests")
        answer.raise_for_status()
        return [
            r
            for r in answer.json()
            if "/api/" in r["path"] and (method is None or r["method"] == method)
        ]

    async def clear_calls(self) -> None:
        await self.control.delete("/_sandbox/requests")

    async def set_link_options(self, **options: str) -> None:
        async with self.store.transaction() as repos:
            await repos.links.update(self.link_id, options=options)

    def department(
        self,
        unit_id: str,
        name: str,
        *,
        active: bool = True,
        kind: Literal["department", "division"] = "department",
        connection_id: str | None = None,
    ) -> DepartmentChanged:
        """The other side's source publishing one of its department options."""
        return DepartmentChanged(
            connection_id=connection_id or self.other_id,
            occurred_at=_AT,
            source_updated_at=_AT + timedelta(minutes=1),
            kind=kind,
            unit_id=unit_id,
            name=name,
            active=active,
        )

    def job_title(self, title_id: str, name: str, *, active: bool = True) -> JobTitleChanged:
        return JobTitleChanged(
            connection_id=self.other_id,
            occurred_at=_AT,
            source_updated_at=_AT + timedelta(minutes=1),
            job_title_id=title_id,
            name=name,
            active=active,
        )

    async def deliver(self, event: DepartmentChanged | JobTitleChanged) -> None:
        """What the subscriber hands the sink: the message as JSON."""
        await self.sink.list_changed(event.model_dump(mode="json"))


@asynccontextmanager
async def lists_world(
    tmp_path: Path,
    *,
    style: Literal["api_key", "oauth"] = "api_key",
    scope: str | None = None,
) -> AsyncIterator[ListsWorld]:
    """``scope``: the OAuth grant's scopes (default: the service's own setting)."""
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with (
            serve(build_app(BambooHRSandbox())) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            creds = (await control.post("/_sandbox/credentials")).json()
            settings = bamboohr_settings(server.base_url, creds)
            if scope is not None:
                settings = settings.model_copy(update={"scope": scope})
            bamboohr_id = await add_connection(
                store=store,
                vault=vault,
                control=control,
                settings=settings,
                style=style,
                token_expires_at=None,
                access_token=None,
            )
            async with store.transaction() as repos:
                other = await repos.connections.create(
                    vendor="zoho", tenant_id="default", display_name="Acme Books EU"
                )
                link = await repos.links.create(
                    source_connection_id=bamboohr_id,
                    target_connection_id=other.id,
                    flow="people-zoho",
                )
            outcomes: list[SyncOutcome] = []

            async def keep(event: SyncOutcome, *, cause: Event) -> None:
                outcomes.append(event)

            access = BambooHRAccess(store=store, vault=vault, settings=settings)
            sink = OptionListSink(
                store=store,
                access=access,
                outcomes=Outcomes(keep, service="bamboohr"),
                holder="test-replica",
                lease_seconds=settings.option_list_lease_seconds,
            )
            await control.delete("/_sandbox/requests")
            async with aclosing(access):
                yield ListsWorld(
                    control=control,
                    store=store,
                    vault=vault,
                    settings=settings,
                    bamboohr_id=bamboohr_id,
                    other_id=other.id,
                    link_id=link.id,
                    sink=sink,
                    outcomes=outcomes,
                )
    finally:
        await store.close()
