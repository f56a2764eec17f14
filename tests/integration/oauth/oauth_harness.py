"""Shared pieces of the OAuth consent tests: a sandbox and an ingest OAuth edge on sockets.

The test plays the browser: it follows the consent URL to the sandbox's auto-consenting
authorize page and then the redirect to ingest. The registered redirect URI names
localhost:8080 (where ingest listens in a real deployment); here ingest listens on an
ephemeral port, so the browser's second hop is sent there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
import typer

from mlc.oauth import (
    ConsentWait,
    add_oauth_connection,
    ping_connection,
    reconnect_oauth_connection,
)
from sandboxes.kit import VendorSandbox, build_app, serve
from schemas.envelope import utcnow
from services.control.connections import OperatorConnections
from services.control.oauth import OAuthFlow
from services.control.operator_api import operator_app
from services.runtime.oauth_tokens import TOKENS_FIELD, TokenSet, load_tokens
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from services.runtime.vendor_plugin import KeyVendor, OAuthVendor

OPERATOR_TOKEN = "test-operator-token"
OPERATOR_HEADERS = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@dataclass
class World:
    vendor: str
    ingest_url: str
    sandbox: httpx.AsyncClient
    store: StateStore
    vault: Vault
    clock_offset: list[timedelta]  # how far our clock runs ahead of now


@asynccontextmanager
async def consent_world(
    tmp_path: Path,
    vendor: str,
    sandbox_app: VendorSandbox,
    knowledge: Callable[[str, dict[str, Any]], OAuthVendor],
    *,
    key_vendor: bool = False,
) -> AsyncIterator[World]:
    """``knowledge(sandbox_base_url, sandbox_credentials)`` builds the vendor's OAuth part."""
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    offset = [timedelta(0)]
    try:
        async with (
            serve(build_app(sandbox_app)) as sandbox_server,
            httpx.AsyncClient(base_url=sandbox_server.base_url) as sandbox,
        ):
            creds = (await sandbox.post("/_sandbox/credentials")).json()
            vault = Vault.from_text(generate_key_ring_entry("k1"))
            made = knowledge(sandbox_server.base_url, creds)
            flow = OAuthFlow(
                store=store,
                vault=vault,
                vendors={vendor: made},
                key_vendors={vendor: cast("KeyVendor", made)} if key_vendor else None,
                clock=lambda: utcnow() + offset[0],
            )
            async with serve(
                operator_app(
                    store,
                    OperatorConnections(store, vault),
                    operator_token=OPERATOR_TOKEN,
                    flow=flow,
                )
            ) as ingest_server:
                yield World(vendor, ingest_server.base_url, sandbox, store, vault, offset)
    finally:
        await store.close()


async def play_browser(world: World, consent_url: str) -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(consent_url)
        assert consent.status_code in (302, 303), consent.text
        redirect = urlsplit(consent.headers["location"])
        ingest = urlsplit(world.ingest_url)
        return await browser.get(urlunsplit(redirect._replace(netloc=ingest.netloc)))


async def consent_url_printed(lines: list[str]) -> str:
    deadline = asyncio.get_running_loop().time() + 10
    while not any(line.startswith("Open this URL") for line in lines):
        assert asyncio.get_running_loop().time() < deadline, "the CLI printed no consent URL"
        await asyncio.sleep(0.02)  # poll
    printed = next(line for line in lines if line.startswith("Open this URL"))
    return printed.splitlines()[1]


def start_cli(
    world: World, lines: list[str], options: Mapping[str, str] | None = None
) -> asyncio.Task[str]:
    """``mlc connections add <vendor> --oauth`` in a thread (it blocks while it polls)."""
    return asyncio.create_task(
        asyncio.to_thread(
            add_oauth_connection,
            world.ingest_url,
            world.vendor,
            display_name="Acme",
            operator_token=OPERATOR_TOKEN,
            options=options,
            wait=ConsentWait(timeout_seconds=20, poll_seconds=0.05, echo=lines.append),
        )
    )


async def connect_with_cli(world: World, options: Mapping[str, str] | None = None) -> str:
    lines: list[str] = []
    adding = start_cli(world, lines, options)
    callback = await play_browser(world, await consent_url_printed(lines))
    assert callback.status_code == 200, callback.text
    return await adding


@dataclass
class Reconnected:
    callback: httpx.Response  # what the browser was answered
    cli_exit: int  # 0 once the CLI said connected
    cli_lines: list[str]


async def reconnect_with_cli(world: World, connection_id: str) -> Reconnected:
    """``mlc connections reconnect <id>`` with the browser played."""
    lines: list[str] = []
    reconnecting = asyncio.create_task(
        asyncio.to_thread(
            reconnect_oauth_connection,
            world.ingest_url,
            connection_id,
            operator_token=OPERATOR_TOKEN,
            wait=ConsentWait(timeout_seconds=10, poll_seconds=0.05, echo=lines.append),
        )
    )
    callback = await play_browser(world, await consent_url_printed(lines))
    try:
        assert await reconnecting == connection_id
    except typer.Exit as stopped:
        return Reconnected(callback, stopped.exit_code, lines)
    return Reconnected(callback, 0, lines)


async def stored_tokens(world: World, connection_id: str) -> TokenSet:
    """The stored pair, decrypted the way the flow does (a test-only peek)."""
    async with world.store.transaction() as repos:
        stored = await repos.credentials.get(connection_id, TOKENS_FIELD)
    assert stored is not None
    return load_tokens(  # the stored format is the runtime's own
        world.vault.decrypt(stored.token, connection_id=connection_id, field=TOKENS_FIELD)
    )


def ping(world: World, connection_id: str) -> tuple[bool, str]:
    """``mlc connections ping`` as the operator (blocking: call it in a thread)."""
    return ping_connection(world.ingest_url, connection_id, operator_token=OPERATOR_TOKEN)
