"""What BambooHRAccess keeps between webhook deliveries: the company's HTTP connection for
the service's life, the connection's record for ``connection_keep_seconds``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.kit import build_app, serve
from services.bamboohr.access import BambooHRAccess
from services.bamboohr.mapping import EMPLOYEE_FIELDS
from services.bamboohr.settings import BambooHRSettings
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.integration.bamboohr.bamboohr_source_rig import add_connection, bamboohr_settings


@dataclass
class _ClientPorts:
    """The sandbox, noting the client port of every request it answers."""

    app: ASGIApp
    ports: list[int] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            self.ports.append(scope["client"][1])
        await self.app(scope, receive, send)


@dataclass
class _World:
    store: StateStore
    settings: BambooHRSettings
    vault: Vault
    connection_id: str
    sandbox: _ClientPorts


@asynccontextmanager
async def _world(tmp_path: Path, *, keep_seconds: float) -> AsyncIterator[_World]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    sandbox = _ClientPorts(build_app(BambooHRSandbox()))
    try:
        async with (
            serve(sandbox) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            creds = (await control.post("/_sandbox/credentials")).json()
            settings = bamboohr_settings(server.base_url, creds).model_copy(
                update={"connection_keep_seconds": keep_seconds}
            )
            connection_id = await add_connection(
                store=store,
                vault=vault,
                control=control,
                settings=settings,
                style="api_key",
                token_expires_at=None,
                access_token=None,
            )
            sandbox.ports.clear()  # the control calls above are not the access's
            yield _World(store, settings, vault, connection_id, sandbox)
    finally:
        await store.close()


async def test_every_delivery_of_a_company_reads_over_one_kept_connection(
    tmp_path: Path,
) -> None:
    async with _world(tmp_path, keep_seconds=5.0) as world:
        access = BambooHRAccess(store=world.store, vault=world.vault, settings=world.settings)
        try:
            for _ in range(3):  # three deliveries, each opening its client as the source does
                record = await access.connection(world.connection_id)
                async with access.client(record) as client:
                    await client.get_employee("4", EMPLOYEE_FIELDS)
        finally:
            await access.aclose()

    assert len(world.sandbox.ports) == 3
    assert len(set(world.sandbox.ports)) == 1, "each delivery opened a connection of its own"


async def test_the_connection_record_is_kept_its_while_and_zero_reads_it_every_time(
    tmp_path: Path,
) -> None:
    for keep_seconds, sees_the_rename in ((60.0, False), (0.0, True)):
        async with _world(tmp_path / str(keep_seconds), keep_seconds=keep_seconds) as world:
            access = BambooHRAccess(store=world.store, vault=world.vault, settings=world.settings)
            before = await access.connection(world.connection_id)
            renamed = f"{before.display_name}, renamed"
            async with world.store.transaction() as repos:
                await repos.connections.update(world.connection_id, display_name=renamed)
            after = await access.connection(world.connection_id)

            expected = renamed if sees_the_rename else before.display_name
            assert after.display_name == expected, f"kept for {keep_seconds} s"
