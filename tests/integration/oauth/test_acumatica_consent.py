"""Acumatica over OAuth 2.0 (authorization code, §3c): consent at the connection's own
instance, ping, the sink's calls with a bearer token refreshed once after expiry (the
rotated refresh token kept), and the start options and endpoint version checked before
anything is written."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from sandboxes.acumatica.app import AcumaticaSandbox
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from services.acumatica.access import AcumaticaAccess
from services.acumatica.auth import AcumaticaOAuth
from services.acumatica.settings import AcumaticaSettings
from tests.integration.oauth.oauth_harness import (
    OPERATOR_HEADERS,
    World,
    connect_with_cli,
    consent_world,
    ping,
    play_browser,
    stored_tokens,
)


def _settings(creds: dict[str, Any]) -> AcumaticaSettings:
    # The Connected Application's id without its tenant: the connection's tenant is added.
    return AcumaticaSettings(
        client_id=str(creds["client_id"]).split("@")[0],
        client_secret=SecretStr(creds["client_secret"]),
        redirect_uri=creds["redirect_uri"],
    )


def acumatica(base_url: str, creds: dict[str, Any]) -> AcumaticaOAuth:
    return AcumaticaOAuth(_settings(creds))


def _sandbox() -> AcumaticaSandbox:
    return AcumaticaSandbox(settings=AcumaticaSandboxSettings(throttle_delay_scale=0.0))


async def _options(world: World, **changes: str) -> dict[str, str]:
    creds = (await world.sandbox.post("/_sandbox/credentials")).json()
    options = {
        "base_url": str(creds["base_url"]),
        "tenant": str(creds["tenant"]),
        "endpoint": str(creds["endpoint"]),
        "version": str(creds["version"]),
        "department_endpoint": str(creds["department_endpoint"]),
        "department_endpoint_version": str(creds["department_endpoint_version"]),
    }
    return {**options, **changes}


async def _seats(world: World) -> int:
    monitor = await world.sandbox.post("/_sandbox/actions/license_monitor", json={})
    return int(monitor.json()["api_sessions"])


async def test_consent_at_the_instance_then_ping_and_the_sink_refreshes_once_after_expiry(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "acumatica", _sandbox(), acumatica) as world:
        creds = (await world.sandbox.post("/_sandbox/credentials")).json()
        connection_id = await connect_with_cli(world, await _options(world))
        async with world.store.transaction() as repos:
            record = await repos.connections.get(connection_id)
        assert record is not None
        assert (record.status, record.settings["auth"]) == ("active", "oauth")
        assert record.settings["client_id"] == creds["client_id"]  # the tenant suffix added
        first = await stored_tokens(world, connection_id)
        assert first.extra["token_url"].endswith("/AcumaticaERP/identity/connect/token")

        ok, line = await asyncio.to_thread(ping, world, connection_id)
        assert ok, line
        assert "OAuth ok for tenant AcmeLive" in line

        access = AcumaticaAccess(store=world.store, vault=world.vault, settings=_settings(creds))
        try:
            client = await access.client(connection_id)
            assert await client.employee("EP00000003") is not None
            await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": 3700})
            assert await client.employee("EP00000003") is not None
        finally:
            await access.aclose()
        rotated = await stored_tokens(world, connection_id)
        assert rotated.refresh_token != first.refresh_token
        # offline_access: one session for the whole chain, across the refresh (§3c).
        assert await _seats(world) == 1


async def test_a_version_the_instance_does_not_serve_fails_the_consent_naming_the_served_ones(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "acumatica", _sandbox(), acumatica) as world:
        options = await _options(world, version="19.100.001")
        async with httpx.AsyncClient(base_url=world.ingest_url) as api:
            started = await api.post(
                "/api/v1/oauth/acumatica/start",
                json={"display_name": "ERP", "options": options},
                headers=OPERATOR_HEADERS,
            )
            assert started.status_code == 201, started.text
            callback = await play_browser(world, started.json()["consent_url"])
            status = await api.get(
                f"/api/v1/oauth/connections/{started.json()['connection_id']}",
                headers=OPERATOR_HEADERS,
            )
        assert callback.status_code == 400
        assert "does not serve endpoint Default/19.100.001" in callback.text
        assert "Default/24.200.001" in callback.text
        assert status.json()["status"] != "active"


async def test_start_options_are_checked_before_anything_is_stored(tmp_path: Path) -> None:
    async with consent_world(tmp_path, "acumatica", _sandbox(), acumatica) as world:
        plain_http = await _options(world, base_url="http://erp.example.com/AcumaticaERP")
        no_tenant = await _options(world, tenant="")
        async with httpx.AsyncClient(base_url=world.ingest_url) as api:
            answers = [
                await api.post(
                    "/api/v1/oauth/acumatica/start",
                    json={"display_name": "ERP", "options": options},
                    headers=OPERATOR_HEADERS,
                )
                for options in (plain_http, no_tenant)
            ]
        async with world.store.transaction() as repos:
            stored = await repos.connections.list()
    assert [a.status_code for a in answers] == [400, 400], [a.text for a in answers]
    assert "https://" in answers[0].text
    assert "tenant" in answers[1].text
    assert stored == []
