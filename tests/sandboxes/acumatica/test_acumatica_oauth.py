"""OAuth 2.0 at `/identity/connect/...` (sheet section 3c), seats included."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx

from sandboxes.acumatica.seed import API_PASSWORD, API_USER, OAUTH_CLIENT
from tests.sandboxes.acumatica.acumatica_helpers import DEFAULT, INSTANCE, TOKEN, quiet_sandbox
from tests.sandboxes.sandbox_harness import Connector

CLIENT = {"client_id": OAUTH_CLIENT["id"], "client_secret": OAUTH_CLIENT["secret"]}
REDIRECT = OAUTH_CLIENT["redirect_uris"][0]


async def _password_grant(client: httpx.AsyncClient, scope: str) -> httpx.Response:
    form = {
        **CLIENT,
        "grant_type": "password",
        "username": API_USER,
        "password": API_PASSWORD,
        "scope": scope,
    }
    return await client.post(TOKEN, data=form)


async def test_the_authorization_code_flow_with_pkce_gives_a_working_bearer_token(
    connect: Connector,
) -> None:
    verifier = "x" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    async with connect(quiet_sandbox()) as client:
        authorize = await client.get(
            f"{INSTANCE}/identity/connect/authorize",
            params={
                "response_type": "code",
                "client_id": CLIENT["client_id"],
                "redirect_uri": REDIRECT,
                "scope": "api offline_access",
                "state": "s1",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            },
        )
        assert authorize.status_code == 302
        query = parse_qs(urlsplit(authorize.headers["location"]).query)
        assert query["state"] == ["s1"]
        form = {
            **CLIENT,
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT,
        }
        wrong = await client.post(TOKEN, data={**form, "code_verifier": "y" * 64})
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
        # A failed exchange spends the code, as a one-time code should.
        authorize = await client.get(
            f"{INSTANCE}/identity/connect/authorize",
            params={
                "response_type": "code",
                "client_id": CLIENT["client_id"],
                "redirect_uri": REDIRECT,
                "scope": "api offline_access",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            },
        )
        code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
        tokens = await client.post(TOKEN, data={**form, "code": code, "code_verifier": verifier})
        body = tokens.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert body["scope"] == "api offline_access"
        assert body["refresh_token"]
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        assert (await client.get(f"{DEFAULT}/Employee", headers=headers)).status_code == 200


async def test_refresh_rotates_the_token_and_the_old_one_is_refused(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        first = (await _password_grant(client, "api offline_access")).json()
        form = {**CLIENT, "grant_type": "refresh_token"}
        second = await client.post(TOKEN, data={**form, "refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        assert second.json()["refresh_token"] != first["refresh_token"]
        replay = await client.post(TOKEN, data={**form, "refresh_token": first["refresh_token"]})
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"


async def test_the_refresh_chain_ends_thirty_days_after_the_first_sign_in(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        token = (await _password_grant(client, "api offline_access")).json()["refresh_token"]
        form = {**CLIENT, "grant_type": "refresh_token"}
        for _ in range(3):
            await client.post("/_sandbox/clock", json={"advance_seconds": 9 * 86400})
            answer = await client.post(TOKEN, data={**form, "refresh_token": token})
            assert answer.status_code == 200
            token = answer.json()["refresh_token"]
        await client.post("/_sandbox/clock", json={"advance_seconds": 4 * 86400})
        assert (await client.post(TOKEN, data={**form, "refresh_token": token})).status_code == 400


async def test_access_tokens_expire_after_an_hour(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        token = (await _password_grant(client, "api")).json()
        assert "refresh_token" not in token
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert (await client.get(f"{DEFAULT}/Employee", headers=headers)).status_code == 200
        await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
        assert (await client.get(f"{DEFAULT}/Employee", headers=headers)).status_code == 401


async def test_there_is_no_client_credentials_grant(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        answer = await client.post(TOKEN, data={**CLIENT, "grant_type": "client_credentials"})
        assert answer.status_code == 400
        assert answer.json()["error"] == "unsupported_grant_type"


async def test_a_client_id_without_its_tenant_suffix_is_unknown(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        bare = {
            "client_id": CLIENT["client_id"].split("@")[0],
            "client_secret": CLIENT["client_secret"],
            "grant_type": "password",
            "username": API_USER,
            "password": API_PASSWORD,
            "scope": "api",
        }
        answer = await client.post(TOKEN, data=bare)
        assert answer.json()["error"] == "invalid_client"


async def test_token_grants_take_api_user_seats_too(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        assert (await _password_grant(client, "api")).status_code == 200
        assert (await _password_grant(client, "api")).status_code == 200
        refused = await _password_grant(client, "api")
        assert refused.status_code == 429
        assert "API Login Limit" in refused.text


async def test_an_offline_access_chain_keeps_one_session_across_refreshes(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox(api_user_seats=1)) as client:
        token = (await _password_grant(client, "api offline_access")).json()
        form = {**CLIENT, "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        refreshed = await client.post(TOKEN, data=form)
        assert refreshed.status_code == 200
        headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        assert (await client.get(f"{DEFAULT}/Employee", headers=headers)).status_code == 200


async def test_logging_out_a_bearer_session_frees_its_seat(connect: Connector) -> None:
    async with connect(quiet_sandbox(api_user_seats=1)) as client:
        token = (await _password_grant(client, "api")).json()["access_token"]
        assert (await _password_grant(client, "api")).status_code == 429
        out = await client.post(
            f"{INSTANCE}/entity/auth/logout", headers={"Authorization": f"Bearer {token}"}
        )
        assert out.status_code == 204
        assert (await _password_grant(client, "api")).status_code == 200


async def test_the_discovery_document_names_the_endpoints(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        found = await client.get(f"{INSTANCE}/identity/.well-known/openid-configuration")
        document = found.json()
        assert document["token_endpoint"].endswith("/AcumaticaERP/identity/connect/token")
        assert "client_credentials" not in document["grant_types_supported"]
