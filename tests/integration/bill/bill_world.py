"""The BILL sandbox on a socket, a SQLite store and BILL connections as the control plane
stores them: what the BILL integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from sandboxes.bill.app import BillSandbox
from sandboxes.kit import build_app, serve
from services.bill.access import BillAccess
from services.bill.settings import BillSettings
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry


async def store_bill_connection(
    store: StateStore, vault: Vault, credentials: Mapping[str, Any]
) -> str:
    """A BILL connection as the control plane stores one; its id."""
    async with store.transaction() as repos:
        record = await repos.connections.create(
            vendor="bill",
            tenant_id="default",
            display_name="BILL",
            settings={
                "credential_style": "dev_key_login",
                "username": str(credentials["username"]),
                "organization_id": str(credentials["organization_id"]),
            },
        )
        for field in ("dev_key", "password"):
            token = vault.encrypt(str(credentials[field]), connection_id=record.id, field=field)
            await repos.credentials.put(
                record.id, field, token=token, key_id=Vault.key_id_of(token)
            )
    return record.id


@dataclass
class BillWorld:
    control: httpx.AsyncClient  # the sandbox's control API
    store: StateStore
    vault: Vault
    settings: BillSettings
    connection_id: str

    @asynccontextmanager
    async def access(self) -> AsyncIterator[BillAccess]:
        """One process's access (a replica: its own holder, the same store)."""
        access = BillAccess(
            store=self.store, vault=self.vault, settings=self.settings, holder=uuid4().hex
        )
        try:
            yield access
        finally:
            await access.aclose()

    async def state(self, collection: str) -> list[dict[str, Any]]:
        answer = await self.control.get(f"/_sandbox/state/{collection}")
        answer.raise_for_status()
        return list(answer.json())

    async def requests(self) -> list[dict[str, Any]]:
        answer = await self.control.get("/_sandbox/requests")
        answer.raise_for_status()
        return list(answer.json())


@asynccontextmanager
async def bill_world(
    tmp_path: Path, sandbox: BillSandbox | None = None
) -> AsyncIterator[BillWorld]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with (
            serve(build_app(sandbox or BillSandbox())) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            credentials = (await control.post("/_sandbox/credentials")).json()
            connection_id = await store_bill_connection(store, vault, credentials)
            settings = BillSettings(
                api_base_url=f"{server.base_url}/connect",
                events_base_url=f"{server.base_url}/connect-events",
            )
            yield BillWorld(control, store, vault, settings, connection_id)
    finally:
        await store.close()
