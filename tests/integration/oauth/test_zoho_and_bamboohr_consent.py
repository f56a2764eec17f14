"""OAuth consent happy paths for Zoho Books (region, organization) and BambooHR (subdomain)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.zoho.app import ZohoSandbox
from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.settings import BambooHRSettings
from services.control.connections import OperatorConnections
from services.zoho.auth import ZohoOAuth
from services.zoho.settings import ZohoSettings
from tests.integration.oauth.oauth_harness import (
    OPERATOR_HEADERS,
    connect_with_cli,
    consent_world,
    ping,
    stored_tokens,
)


def zoho(base_url: str, creds: dict[str, Any]) -> ZohoOAuth:
    return ZohoOAuth(
        ZohoSettings(
            # Consent starts at the US server, as Zoho tells multi-DC clients to.
            accounts_base_url=f"{base_url}/accounts.zoho.com",
            trusted_accounts_servers=(f"{base_url}/accounts.zoho.",),
            client_id=creds["client_id"],
            client_secret=SecretStr(creds["client_secret"]),
            redirect_uri=creds["redirect_uri"],
        )
    )


def bamboohr(base_url: str, creds: dict[str, Any]) -> BambooHRAuth:
    return BambooHRAuth(
        BambooHRSettings(
            company_url_template=f"{base_url}/{{subdomain}}.bamboohr.com",
            client_id=creds["client_id"],
            client_secret=SecretStr(creds["client_secret"]),
            redirect_uri=creds["redirect_uri"],
        )
    )


async def test_add_zoho_finds_the_users_region_and_organization_and_ping_succeeds(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "zoho", ZohoSandbox(), zoho) as world:
        creds = (await world.sandbox.post("/_sandbox/credentials")).json()
        connection_id = await connect_with_cli(world)
        async with world.store.transaction() as repos:
            record = await repos.connections.get(connection_id)
        assert record is not None
        assert record.settings["region"] == creds["region"] == "eu"
        assert record.settings["organization_id"] == creds["organization_id"]
        assert record.settings["api_domain"].endswith("/www.zohoapis.eu")
        tokens = await stored_tokens(world, connection_id)
        assert tokens.extra["accounts_server"].endswith("/accounts.zoho.eu")

        ok, line = await asyncio.to_thread(ping, world, connection_id)
        assert ok, line
        assert creds["organization_id"] in line


async def test_zoho_ping_after_the_refresh_token_is_revoked_says_reconnect(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "zoho", ZohoSandbox(), zoho) as world:
        connection_id = await connect_with_cli(world)
        tokens = await stored_tokens(world, connection_id)
        revoked = await world.sandbox.post(
            "/accounts.zoho.eu/oauth/v2/token/revoke", params={"token": tokens.refresh_token}
        )
        assert revoked.status_code == 200, revoked.text

        ok, line = await asyncio.to_thread(ping, world, connection_id)
        assert not ok
        assert f"reconnect: mlc connections reconnect {connection_id}" in line


async def test_add_bamboohr_with_its_subdomain_connects_and_ping_reads_the_directory(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "bamboohr", BambooHRSandbox(), bamboohr) as world:
        creds = (await world.sandbox.post("/_sandbox/credentials")).json()
        connection_id = await connect_with_cli(world, {"subdomain": creds["company_domain"]})
        async with world.store.transaction() as repos:
            record = await repos.connections.get(connection_id)
        assert record is not None
        assert record.status == "active"
        assert record.settings["subdomain"] == creds["company_domain"]

        ok, line = await asyncio.to_thread(ping, world, connection_id)
        assert ok, line
        assert line.startswith("ok: BambooHR directory answered with")


async def test_bamboohr_consent_without_a_usable_subdomain_is_refused_before_anything_is_stored(
    tmp_path: Path,
) -> None:
    async with consent_world(tmp_path, "bamboohr", BambooHRSandbox(), bamboohr) as world:
        async with httpx.AsyncClient(base_url=world.ingest_url) as client:
            answer = await client.post(
                "/api/v1/oauth/bamboohr/start",
                json={"options": {"subdomain": "evil.example.com/x"}},
                headers=OPERATOR_HEADERS,
            )
        assert answer.status_code == 400
        assert "subdomain" in answer.json()["error"]
        async with world.store.transaction() as repos:
            assert await repos.connections.list(vendor="bamboohr") == []


async def test_bamboohr_api_key_connections_ping_with_basic_auth_and_a_wrong_key_says_replace_it(
    tmp_path: Path,
) -> None:
    async with consent_world(
        tmp_path, "bamboohr", BambooHRSandbox(), bamboohr, key_vendor=True
    ) as world:
        creds = (await world.sandbox.post("/_sandbox/credentials")).json()
        operator = OperatorConnections(world.store, world.vault)
        good = await operator.add_connection(
            "bamboohr",
            display_name="Acme by key",
            credentials={"api_key": creds["api_key"], "company_domain": creds["company_domain"]},
        )
        wrong = await operator.add_connection(
            "bamboohr",
            display_name="Acme, wrong key",
            credentials={"api_key": "0" * 40, "company_domain": creds["company_domain"]},
        )

        ok, line = await asyncio.to_thread(ping, world, good.record.id)
        assert ok, line
        assert line.startswith("ok: BambooHR directory answered with")
        ok, line = await asyncio.to_thread(ping, world, wrong.record.id)
        assert not ok
        assert "BambooHR refused our credentials (HTTP 401)" in line
        assert "replace the credentials" in line
