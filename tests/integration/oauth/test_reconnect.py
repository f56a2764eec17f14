"""``mlc connections reconnect``: a new consent renews a connection's tokens in place."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from sandboxes.zoho.app import ZohoSandbox
from services.runtime.oauth_tokens import BROKEN_STATUS
from services.runtime.store import ConnectionRecord
from tests.integration.oauth.oauth_harness import (
    OPERATOR_HEADERS,
    World,
    connect_with_cli,
    consent_world,
    ping,
    play_browser,
    reconnect_with_cli,
    stored_tokens,
)
from tests.integration.oauth.test_zoho_and_bamboohr_consent import zoho


async def _revoke_and_break(world: World, connection_id: str) -> None:
    """The refresh token revoked at Zoho and the access token run out: the next ping's
    refresh is refused, which marks the connection broken."""
    tokens = await stored_tokens(world, connection_id)
    revoked = await world.sandbox.post(
        "/accounts.zoho.eu/oauth/v2/token/revoke", params={"token": tokens.refresh_token}
    )
    assert revoked.status_code == 200, revoked.text
    await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": 7200})
    ok, line = await asyncio.to_thread(ping, world, connection_id)
    assert not ok, line


async def test_a_broken_connection_reconnects_in_place_and_works_again(tmp_path: Path) -> None:
    async with consent_world(tmp_path, "zoho", ZohoSandbox(), zoho) as world:
        connection_id = await connect_with_cli(world)
        before = await stored_tokens(world, connection_id)
        organization = (await _record(world, connection_id)).settings["organization_id"]
        # The settings hold more than strings (the webhook's registration): kept as they are.
        registration = {"state": "registered", "ids": ["w1"], "url": "https://x.example/w"}
        async with world.store.transaction() as repos:
            record = await repos.connections.get(connection_id)
            assert record is not None
            await repos.connections.update(
                connection_id, settings={**record.settings, "webhook": registration}
            )
        await _revoke_and_break(world, connection_id)
        assert (await _record(world, connection_id)).status == BROKEN_STATUS

        reconnected = await reconnect_with_cli(world, connection_id)

        assert reconnected.callback.status_code == 200, reconnected.callback.text
        assert reconnected.cli_lines[-1] == f"connected: {connection_id}"
        after = await stored_tokens(world, connection_id)
        assert after.refresh_token != before.refresh_token
        async with world.store.transaction() as repos:
            record = await repos.connections.get(connection_id)
            audit = await repos.audit_log.list(subject=connection_id)
            every = await repos.connections.list(vendor="zoho")
        assert record is not None
        assert record.status == "active"
        assert record.settings["organization_id"] == organization
        assert record.settings["webhook"] == registration
        assert [c.id for c in every] == [connection_id]  # the same connection, no new one
        actions = [a.action for a in audit]  # newest first
        assert actions.index("oauth.reconnected") < actions.index("oauth.reconnect_started")
        ok, line = await asyncio.to_thread(ping, world, connection_id)
        assert ok, line


async def test_an_active_connection_reconnects_and_its_consent_shows_pending_until_the_callback(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "zoho", ZohoSandbox(), zoho) as world:
        connection_id = await connect_with_cli(world)
        before = await stored_tokens(world, connection_id)

        async with _operator(world) as operator:
            started = await operator.post(f"/api/v1/connections/{connection_id}/reconnect")
            assert started.status_code == 201, started.text
            # The connection stays active and working meanwhile, but whoever waits for this
            # consent sees it pending until the callback.
            waiting = await operator.get(f"/api/v1/oauth/connections/{connection_id}")
            callback = await play_browser(world, started.json()["consent_url"])
            done = await operator.get(f"/api/v1/oauth/connections/{connection_id}")

        assert waiting.json() == {"status": "pending_consent", "refused": None}
        assert callback.status_code == 200, callback.text
        assert done.json() == {"status": "active", "refused": None}
        assert (await stored_tokens(world, connection_id)).access_token != before.access_token


async def test_a_consent_for_another_organization_is_refused_and_the_tokens_kept(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "zoho", ZohoSandbox(), zoho) as world:
        connection_id = await connect_with_cli(world)
        before = await stored_tokens(world, connection_id)
        # The connection was made for another organization than the one the user's
        # consent speaks for now (their default changed, or another person consents).
        async with world.store.transaction() as repos:
            record = await repos.connections.get(connection_id)
            assert record is not None
            await repos.connections.update(
                connection_id, settings={**record.settings, "organization_id": "999"}
            )

        reconnected = await reconnect_with_cli(world, connection_id)

        assert reconnected.callback.status_code == 400
        assert "another account (organization_id" in reconnected.callback.text
        assert "(was 999)" in reconnected.callback.text
        # The CLI stops at once with the reason, not at its deadline.
        assert reconnected.cli_exit == 1
        assert "the consent was refused: this consent is for another" in reconnected.cli_lines[-1]
        assert (await stored_tokens(world, connection_id)) == before
        async with _operator(world) as operator:
            progress = await operator.get(f"/api/v1/oauth/connections/{connection_id}")
        assert progress.json()["refused"].startswith("this consent is for another account")


async def test_reconnect_answers_404_for_no_connection_and_400_for_a_key_vendor(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "zoho", ZohoSandbox(), zoho) as world:
        async with world.store.transaction() as repos:
            keyed = await repos.connections.create(
                vendor="bill", tenant_id="default", display_name="BILL", settings={}
            )
        async with _operator(world) as operator:
            missing = await operator.post("/api/v1/connections/nope/reconnect")
            not_oauth = await operator.post(f"/api/v1/connections/{keyed.id}/reconnect")
        assert missing.status_code == 404
        assert missing.json()["error"] == "no connection nope"
        assert not_oauth.status_code == 400
        assert "'bill' is not an OAuth vendor here" in not_oauth.json()["error"]


async def _record(world: World, connection_id: str) -> ConnectionRecord:
    async with world.store.reading() as repos:
        record = await repos.connections.get(connection_id)
    assert record is not None
    return record


def _operator(world: World) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=world.ingest_url, headers=OPERATOR_HEADERS)
