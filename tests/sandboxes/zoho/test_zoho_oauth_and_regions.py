"""Zoho Accounts and the eight data centres, written from sheet sections 1 and 2."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from sandboxes.zoho.app import ZohoSandbox
from sandboxes.zoho.regions import REGIONS
from sandboxes.zoho.settings import ZohoSandboxSettings
from tests.sandboxes.sandbox_harness import Connector, run_in_process
from tests.sandboxes.zoho.zoho_helpers import consent, sign_in

SHEET_HOSTS = {
    "us": ("www.zohoapis.com", "accounts.zoho.com"),
    "eu": ("www.zohoapis.eu", "accounts.zoho.eu"),
    "in": ("www.zohoapis.in", "accounts.zoho.in"),
    "au": ("www.zohoapis.com.au", "accounts.zoho.com.au"),
    "jp": ("www.zohoapis.jp", "accounts.zoho.jp"),
    "ca": ("www.zohoapis.ca", "accounts.zohocloud.ca"),
    "cn": ("www.zohoapis.com.cn", "accounts.zoho.com.cn"),
    "sa": ("www.zohoapis.sa", "accounts.zoho.sa"),
}


def _seed_in(region: str) -> ZohoSandbox:
    sandbox = ZohoSandbox()
    for user in sandbox.state.records("users"):
        if user["id"] == "20065432001":
            user["region"] = region
    for org in sandbox.state.records("organizations"):
        if org["user_id"] == "20065432001":
            org["region"] = region
    return sandbox


def test_the_sandbox_knows_exactly_the_sheets_eight_data_centres() -> None:
    assert {r.code: (r.api_host, r.accounts_host) for r in REGIONS} == SHEET_HOSTS


async def test_consent_started_in_the_us_names_the_home_dc_on_the_redirect(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        redirect = await consent(client, start="/accounts.zoho.com")
        assert redirect["state"] == "s-42"
        assert redirect["location"] == "eu"
        origin = str(client.base_url).rstrip("/")
        assert redirect["accounts-server"] == f"{origin}/accounts.zoho.eu"


@pytest.mark.parametrize("region", sorted(SHEET_HOSTS))
async def test_every_region_issues_its_own_api_domain_and_serves_its_orgs(region: str) -> None:
    start = "/accounts.zoho.com.cn" if region == "cn" else "/accounts.zoho.com"
    async with run_in_process(_seed_in(region)) as client:
        redirect = await consent(client, start=start)
        assert redirect["location"] == region
        assert urlsplit(redirect["accounts-server"]).path == f"/{SHEET_HOSTS[region][1]}"
        session = await sign_in(client, start=start)
        assert session.api_domain == f"http://sandbox.test/{SHEET_HOSTS[region][0]}"
        orgs = await client.get(f"{session.base}/organizations", headers=session.headers)
        assert orgs.status_code == 200
        assert {o["organization_id"] for o in orgs.json()["organizations"]} == {
            "20065432101",
            "20065432102",
        }


async def test_china_accounts_must_be_started_at_the_china_accounts_server() -> None:
    async with run_in_process(_seed_in("cn")) as client:
        credentials = (await client.post("/_sandbox/credentials")).json()
        answer = await client.get(
            "/accounts.zoho.com/oauth/v2/auth",
            params={
                "client_id": credentials["client_id"],
                "response_type": "code",
                "redirect_uri": credentials["redirect_uri"],
                "scope": "ZohoBooks.contacts.ALL",
            },
        )
        assert answer.status_code == 400


async def test_the_code_only_works_at_the_home_accounts_server_and_once(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        exchange = {
            "grant_type": "authorization_code",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "redirect_uri": creds["redirect_uri"],
        }
        redirect = await consent(client)
        wrong_dc = await client.post(
            "/accounts.zoho.com/oauth/v2/token", params={**exchange, "code": redirect["code"]}
        )
        # [V3p] a bad code answers HTTP 200 with {"error": "invalid_code"}.
        assert (wrong_dc.status_code, wrong_dc.json()) == (200, {"error": "invalid_code"})
        redirect = await consent(client)
        first = await client.post(
            "/accounts.zoho.eu/oauth/v2/token", data={**exchange, "code": redirect["code"]}
        )
        assert set(first.json()) == {
            "access_token",
            "refresh_token",
            "api_domain",
            "token_type",
            "expires_in",
        }
        assert first.json()["expires_in"] == 3600
        again = await client.post(
            "/accounts.zoho.eu/oauth/v2/token", data={**exchange, "code": redirect["code"]}
        )
        assert again.json() == {"error": "invalid_code"}


async def test_a_code_older_than_sixty_seconds_is_invalid(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        redirect = await consent(client)
        await client.post("/_sandbox/clock", json={"advance_seconds": 61})
        answer = await client.post(
            "/accounts.zoho.eu/oauth/v2/token",
            params={
                "grant_type": "authorization_code",
                "code": redirect["code"],
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "redirect_uri": creds["redirect_uri"],
            },
        )
        assert answer.json() == {"error": "invalid_code"}


async def test_online_access_gets_no_refresh_token(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        session = await sign_in(client, access_type="online")
        assert session.refresh_token is None


async def test_refresh_keeps_the_refresh_token_and_names_the_api_domain(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        session = await sign_in(client)
        creds = session.credentials
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": session.refresh_token,
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
        for _ in range(2):  # not rotated: the same refresh token works again
            answer = (await client.post("/accounts.zoho.eu/oauth/v2/token", params=refresh)).json()
            assert set(answer) == {"access_token", "api_domain", "token_type", "expires_in"}
            assert answer["api_domain"] == session.api_domain
            assert answer["token_type"] == "Bearer"
        wrong_dc = await client.post("/accounts.zoho.com/oauth/v2/token", params=refresh)
        assert wrong_dc.json() == {"error": "invalid_code"}


async def test_an_access_token_lives_one_hour_on_the_sandbox_clock(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        session = await sign_in(client)
        url = f"{session.base}/contacts"
        ok = await client.get(url, params=session.org, headers=session.headers)
        assert ok.status_code == 200
        await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
        expired = await client.get(url, params=session.org, headers=session.headers)
        assert expired.status_code == 401
        assert expired.json() == {
            "code": 57,
            "message": "You are not authorized to perform this operation",
        }


async def test_only_the_zoho_oauthtoken_scheme_is_accepted(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        session = await sign_in(client)
        bearer = {"Authorization": f"Bearer {session.access_token}"}
        answer = await client.get(f"{session.base}/contacts", params=session.org, headers=bearer)
        assert (answer.status_code, answer.json()["code"]) == (401, 57)
        in_query = await client.get(
            f"{session.base}/contacts", params={**session.org, "authtoken": session.access_token}
        )
        assert in_query.status_code == 401


async def test_a_token_from_one_dc_is_refused_on_another_dcs_api_host(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        session = await sign_in(client)
        answer = await client.get(
            "/www.zohoapis.com/books/v3/contacts", params=session.org, headers=session.headers
        )
        assert (answer.status_code, answer.json()["code"]) == (401, 57)


async def test_a_missing_scope_answers_code_57(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        session = await sign_in(client, scope="ZohoBooks.contacts.READ")
        read = await client.get(
            f"{session.base}/contacts", params=session.org, headers=session.headers
        )
        assert read.status_code == 200
        write = await client.post(
            f"{session.base}/contacts",
            params=session.org,
            headers=session.headers,
            json={"contact_name": "Nope"},
        )
        assert (write.status_code, write.json()["code"]) == (401, 57)
        orgs = await client.get(f"{session.base}/organizations", headers=session.headers)
        assert orgs.status_code == 401


async def test_revoking_a_refresh_token_kills_it_and_its_access_tokens(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        session = await sign_in(client)
        revoked = await client.post(
            "/accounts.zoho.eu/oauth/v2/token/revoke", params={"token": session.refresh_token}
        )
        assert revoked.status_code == 200
        answer = await client.get(
            f"{session.base}/contacts", params=session.org, headers=session.headers
        )
        assert answer.status_code == 401
        creds = session.credentials
        refresh = await client.post(
            "/accounts.zoho.eu/oauth/v2/token",
            params={
                "grant_type": "refresh_token",
                "refresh_token": session.refresh_token,
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
        assert refresh.json() == {"error": "invalid_code"}


async def test_the_twenty_first_refresh_token_evicts_the_oldest() -> None:
    settings = ZohoSandboxSettings(max_refresh_token_creations_per_minute=100)
    async with run_in_process(ZohoSandbox(settings=settings)) as client:
        sessions = [await sign_in(client) for _ in range(21)]
        creds = sessions[0].credentials

        async def works(token: str | None) -> bool:
            answer = await client.post(
                "/accounts.zoho.eu/oauth/v2/token",
                params={
                    "grant_type": "refresh_token",
                    "refresh_token": token,
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                },
            )
            return "access_token" in answer.json()

        assert not await works(sessions[0].refresh_token)
        assert await works(sessions[1].refresh_token)
        assert await works(sessions[20].refresh_token)


async def test_the_sixth_refresh_token_in_a_minute_is_denied() -> None:
    async with run_in_process(ZohoSandbox()) as client:
        for _ in range(5):
            await sign_in(client)
        creds = (await client.post("/_sandbox/credentials")).json()
        redirect = await consent(client)
        answer = await client.post(
            "/accounts.zoho.eu/oauth/v2/token",
            params={
                "grant_type": "authorization_code",
                "code": redirect["code"],
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "redirect_uri": creds["redirect_uri"],
            },
        )
        assert answer.json()["error"] == "Access Denied"


async def test_serverinfo_maps_every_location_to_its_accounts_server(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        info = (await client.get("/accounts.zoho.com/oauth/serverinfo")).json()
        assert {k: urlsplit(v).path.strip("/") for k, v in info["locations"].items()} == {
            code: hosts[1] for code, hosts in SHEET_HOSTS.items()
        }


async def test_real_host_names_in_the_host_header_reach_the_same_dcs() -> None:
    async with run_in_process(ZohoSandbox()) as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        redirect = await consent(client)
        tokens = (
            await client.post(
                "/oauth/v2/token",
                headers={"Host": "accounts.zoho.eu"},
                params={
                    "grant_type": "authorization_code",
                    "code": redirect["code"],
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                    "redirect_uri": creds["redirect_uri"],
                },
            )
        ).json()
        assert tokens["api_domain"] == "http://www.zohoapis.eu"
        answer = await client.get(
            "/books/v3/contacts",
            params={"organization_id": creds["organization_id"], "per_page": 1},
            headers={
                "Host": "www.zohoapis.eu",
                "Authorization": f"Zoho-oauthtoken {tokens['access_token']}",
            },
        )
        assert answer.status_code == 200
        legacy = await client.get(
            "/books.zoho.eu/api/v3/contacts",
            params={"organization_id": creds["organization_id"], "per_page": 1},
            headers={"Authorization": f"Zoho-oauthtoken {tokens['access_token']}"},
        )
        assert legacy.json()["contacts"] == answer.json()["contacts"]


async def test_paths_without_a_dc_are_the_default_accounts_dc(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        session = await sign_in(client)
        plain = await client.get(
            "/books/v3/contacts", params={**session.org, "per_page": 1}, headers=session.headers
        )
        assert plain.status_code == 200
        unknown = await client.get("/somewhere/else", headers=session.headers)
        assert unknown.status_code == 404
        assert unknown.json() == {"code": 5, "message": "Invalid URL Passed"}
