"""OAuth consent for FreshBooks end to end over real sockets: CLI, ingest callback, sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from mlc.app import app as cli_app
from mlc.oauth import ConsentWait, add_oauth_connection
from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.seed import ACCOUNT_ID
from services.freshbooks.auth import FreshBooksOAuth
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.oauth_tokens import TOKENS_FIELD
from tests.integration.oauth.oauth_harness import (
    OPERATOR_HEADERS,
    OPERATOR_TOKEN,
    World,
    connect_with_cli,
    consent_url_printed,
    consent_world,
    ping,
    play_browser,
    start_cli,
    stored_tokens,
)


def freshbooks(base_url: str, creds: dict[str, Any]) -> FreshBooksOAuth:
    return FreshBooksOAuth(
        FreshBooksSettings(
            auth_base_url=base_url,
            api_base_url=base_url,
            client_id=creds["client_id"],
            client_secret=SecretStr(creds["client_secret"]),
            redirect_uri=creds["redirect_uri"],
        )
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with consent_world(tmp_path, "freshbooks", FreshBooksSandbox(), freshbooks) as made:
        yield made


async def test_add_freshbooks_completes_consent_stores_identity_and_ping_succeeds(
    world: World,
) -> None:
    connection_id = await connect_with_cli(world)

    async with world.store.transaction() as repos:
        record = await repos.connections.get(connection_id)
        stored = await repos.credentials.get(connection_id, TOKENS_FIELD)
    assert record is not None
    assert record.status == "active"
    assert record.settings["account_id"] == ACCOUNT_ID
    assert stored is not None
    assert "access_token" not in stored.token  # encrypted, not JSON at rest

    ok, line = await asyncio.to_thread(ping, world, connection_id)
    assert ok, line
    assert line.startswith("ok: FreshBooks users/me")


async def test_ping_after_the_refresh_token_is_revoked_and_the_access_token_expired_says_reconnect(
    world: World,
) -> None:
    connection_id = await connect_with_cli(world)
    tokens = await stored_tokens(world, connection_id)
    # Revoke at the vendor: the refresh token is ended, the access token runs out.
    revoked = await world.sandbox.post("/auth/oauth/revoke", data={"token": tokens.refresh_token})
    assert revoked.status_code == 200
    await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": 43201})

    command = ["connections", "ping", connection_id, "--url", world.ingest_url]
    env = {"MLC_OPERATOR_TOKEN": OPERATOR_TOKEN}
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, command, env=env)
    assert result.exit_code == 1
    assert "failed: the vendor refused our refresh token" in result.output
    assert f"reconnect: mlc connections reconnect {connection_id}" in result.output


async def test_ping_refreshes_an_expired_access_token_and_stores_the_rotated_pair(
    world: World,
) -> None:
    connection_id = await connect_with_cli(world)
    before = await stored_tokens(world, connection_id)
    await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": 43201})
    world.clock_offset[0] = timedelta(seconds=43201)

    ok, line = await asyncio.to_thread(ping, world, connection_id)
    after = await stored_tokens(world, connection_id)
    assert ok, line
    assert after.refresh_token != before.refresh_token
    # The spent refresh token is really spent: only the stored new one can go on.
    assert after.access_token != before.access_token


async def test_a_reused_state_is_refused_with_400_and_audited(world: World) -> None:
    lines: list[str] = []
    adding = start_cli(world, lines)
    consent_url = await consent_url_printed(lines)
    first = await play_browser(world, consent_url)
    await adding
    again = await play_browser(world, consent_url)
    assert first.status_code == 200
    assert again.status_code == 400
    assert "already used" in again.text
    await _assert_audited(world, "already used")


async def test_a_forged_state_is_refused_with_400_and_audited(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.ingest_url) as client:
        started = (
            await client.post("/api/v1/oauth/freshbooks/start", json={}, headers=OPERATOR_HEADERS)
        ).json()
        answer = await client.get(
            "/oauth/freshbooks/callback",
            params={"code": "x", "state": f"{started['connection_id']}.forged"},
        )
    assert answer.status_code == 400
    assert "unknown or already used state" in answer.text
    await _assert_audited(world, "unknown or already used state")


async def test_a_forged_callback_for_a_pending_connection_does_not_cancel_the_real_consent(
    world: World,
) -> None:
    # The connection id is in the consent URL anyone may see; the nonce is not.
    lines: list[str] = []
    adding = start_cli(world, lines)
    consent_url = await consent_url_printed(lines)
    state = parse_qs(urlsplit(consent_url).query)["state"][0]
    connection_id = state.partition(".")[0]
    async with httpx.AsyncClient(base_url=world.ingest_url) as client:
        forged = await client.get(
            "/oauth/freshbooks/callback",
            params={"code": "attacker", "state": f"{connection_id}.wrong-nonce"},
        )
    genuine = await play_browser(world, consent_url)
    assert forged.status_code == 400
    assert genuine.status_code == 200, genuine.text
    assert await adding == connection_id
    async with world.store.transaction() as repos:
        record = await repos.connections.get(connection_id)
    assert record is not None
    assert record.status == "active"


async def test_an_expired_state_is_refused_with_400_and_audited(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.ingest_url) as client:
        started = (
            await client.post("/api/v1/oauth/freshbooks/start", json={}, headers=OPERATOR_HEADERS)
        ).json()
        world.clock_offset[0] = timedelta(minutes=11)
        state = parse_qs(urlsplit(started["consent_url"]).query)["state"][0]
        answer = await client.get(
            "/oauth/freshbooks/callback", params={"code": "x", "state": state}
        )
    assert answer.status_code == 400
    assert "state expired" in answer.text
    await _assert_audited(world, "state expired")


async def test_the_cli_gives_up_at_its_deadline_when_nobody_consents(world: World) -> None:
    lines: list[str] = []
    with pytest.raises(typer.Exit):
        await asyncio.to_thread(
            add_oauth_connection,
            world.ingest_url,
            "freshbooks",
            display_name="Acme",
            operator_token=OPERATOR_TOKEN,
            wait=ConsentWait(timeout_seconds=0.3, poll_seconds=0.05, echo=lines.append),
        )
    assert "did not complete" in lines[-1]


async def test_ping_of_an_unknown_connection_fails_and_says_where_to_look(world: World) -> None:
    ok, line = await asyncio.to_thread(ping, world, "nope")
    assert not ok
    assert "no connection nope" in line


async def _assert_audited(world: World, reason: str) -> None:
    async with world.store.transaction() as repos:
        entries = await repos.audit_log.list()
    refused = [e for e in entries if e.action == "oauth.callback_refused"]
    assert any(reason in str(e.detail.get("reason")) for e in refused), refused


async def test_the_operator_endpoints_want_the_operator_token_but_the_callback_does_not(
    world: World,
) -> None:
    async with httpx.AsyncClient(base_url=world.ingest_url) as client:
        start = await client.post("/api/v1/oauth/freshbooks/start", json={})
        wrong = await client.post(
            "/api/v1/connections/x/ping", headers={"Authorization": "Bearer nope"}
        )
        callback = await client.get("/oauth/freshbooks/callback", params={"state": "a.b"})
    assert start.status_code == 401
    assert wrong.status_code == 401
    assert callback.status_code == 400  # reached the state check: no token needed
    async with world.store.transaction() as repos:
        assert await repos.connections.list(vendor="freshbooks") == []
