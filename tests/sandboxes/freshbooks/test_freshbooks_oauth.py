"""OAuth 2.0 authorization code, refresh rotation and expiry, written from sheet section 2."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from tests.sandboxes.freshbooks.fb_helpers import (
    authorization_code,
    credentials,
    refresh,
    tokens,
)
from tests.sandboxes.sandbox_harness import Connector

ME = "/auth/api/v1/users/me"


async def test_authorize_redirects_to_the_registered_uri_with_code_and_state_and_the_token_answers(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        creds = await credentials(client)
        assert set(creds) >= {
            "client_id",
            "client_secret",
            "redirect_uri",
            "account_id",
            "business_id",
        }
        issued = await tokens(client)
        assert issued["token_type"] == "Bearer"
        assert issued["expires_in"] == 43200
        assert isinstance(issued["created_at"], int)
        assert issued["refresh_token"]
        assert issued["access_token"] != issued["refresh_token"]
        assert "user:profile:read" in issued["scope"].split(" ")
        me = await client.get(ME, headers={"Authorization": f"Bearer {issued['access_token']}"})
        assert me.status_code == 200


async def test_the_older_authorize_path_also_issues_codes(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        creds = await credentials(client)
        answer = await client.get(
            "/service/auth/oauth/authorize",
            params={"client_id": creds["client_id"], "response_type": "code",
                    "redirect_uri": creds["redirect_uri"]},
        )  # fmt: skip
        assert answer.status_code == 302
        assert "code" in parse_qs(urlsplit(answer.headers["location"]).query)


async def test_the_token_endpoint_accepts_multipart_and_json_bodies(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        creds = await credentials(client)
        fields = {
            "grant_type": "authorization_code",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "redirect_uri": creds["redirect_uri"],
        }
        code = await authorization_code(client, creds)
        multipart = await client.post(
            "/auth/oauth/token", files={k: (None, v) for k, v in {**fields, "code": code}.items()}
        )
        assert multipart.status_code == 200, multipart.text
        code = await authorization_code(client, creds)
        as_json = await client.post("/auth/oauth/token", json={**fields, "code": code})
        assert as_json.status_code == 200, as_json.text


async def test_a_code_works_once_and_not_after_five_minutes(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        creds = await credentials(client)
        body = {
            "grant_type": "authorization_code",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "redirect_uri": creds["redirect_uri"],
        }
        code = await authorization_code(client, creds)
        assert (
            await client.post("/auth/oauth/token", data={**body, "code": code})
        ).status_code == 200
        again = await client.post("/auth/oauth/token", data={**body, "code": code})
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"
        late = await authorization_code(client, creds)
        await client.post("/_sandbox/clock", json={"advance_seconds": 301})
        expired = await client.post("/auth/oauth/token", data={**body, "code": late})
        assert expired.status_code == 400
        assert set(expired.json()) == {"error", "error_description"}


async def test_the_token_call_needs_the_secret_and_the_redirect_uri(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        creds = await credentials(client)
        code = await authorization_code(client, creds)
        no_uri = await client.post(
            "/auth/oauth/token",
            data={"grant_type": "authorization_code", "client_id": creds["client_id"],
                  "client_secret": creds["client_secret"], "code": code},
        )  # fmt: skip
        assert no_uri.status_code == 400
        assert no_uri.json()["error"] == "invalid_request"
        wrong_secret = await client.post(
            "/auth/oauth/token",
            data={"grant_type": "authorization_code", "client_id": creds["client_id"],
                  "client_secret": "nope", "code": code, "redirect_uri": creds["redirect_uri"]},
        )  # fmt: skip
        assert wrong_secret.status_code == 401
        assert wrong_secret.json()["error"] == "invalid_client"


async def test_an_unregistered_redirect_uri_is_refused_without_redirecting(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        creds = await credentials(client)
        answer = await client.get(
            "/oauth/authorize",
            params={"client_id": creds["client_id"], "response_type": "code",
                    "redirect_uri": "https://evil.example/cb"},
        )  # fmt: skip
        assert answer.status_code == 400
        assert "location" not in answer.headers


async def test_an_unknown_scope_fails_the_whole_consent(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        creds = await credentials(client)
        answer = await client.get(
            "/oauth/authorize",
            params={"client_id": creds["client_id"], "response_type": "code",
                    "redirect_uri": creds["redirect_uri"], "state": "s",
                    "scope": "user:expenses:read user:payroll:write"},
        )  # fmt: skip
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["error"] == ["invalid_scope"]
        assert query["state"] == ["s"]
        assert "code" not in query


async def test_every_refresh_rotates_the_refresh_token_and_the_spent_one_is_rejected(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        first = await tokens(client)
        rotated = await refresh(client, first["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert second["expires_in"] == 43200
        spent = await refresh(client, first["refresh_token"])
        assert spent.status_code == 400
        assert spent.json()["error"] == "invalid_grant"
        # The old access token stays valid until it expires (sheet checklist).
        old = {"Authorization": f"Bearer {first['access_token']}"}
        assert (await client.get(ME, headers=old)).status_code == 200
        third = await refresh(client, second["refresh_token"])
        assert third.status_code == 200


async def test_access_tokens_expire_after_twelve_hours_on_the_sandbox_clock(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        issued = await tokens(client)
        headers = {"Authorization": f"Bearer {issued['access_token']}"}
        await client.post("/_sandbox/clock", json={"advance_seconds": 43199})
        assert (await client.get(ME, headers=headers)).status_code == 200
        await client.post("/_sandbox/clock", json={"advance_seconds": 2})
        expired = await client.get(ME, headers=headers)
        assert expired.status_code == 401
        assert expired.json() == {
            "error": "unauthenticated",
            "error_description": "This action requires authentication to continue.",
        }
        # The refresh token does not expire: it still buys a new pair.
        assert (await refresh(client, issued["refresh_token"])).status_code == 200


async def test_settings_can_revoke_the_old_access_token_and_echo_the_original_created_at(
    connect: Connector,
) -> None:
    settings = FreshBooksSandboxSettings(
        refresh_revokes_old_access_token=True, refresh_echoes_original_created_at=True
    )
    async with connect(FreshBooksSandbox(settings=settings)) as client:
        first = await tokens(client)
        await client.post("/_sandbox/clock", json={"advance_seconds": 600})
        second = (await refresh(client, first["refresh_token"])).json()
        assert second["created_at"] == first["created_at"]
        old = {"Authorization": f"Bearer {first['access_token']}"}
        assert (await client.get(ME, headers=old)).status_code == 401


async def test_revoking_a_refresh_token_ends_it(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        issued = await tokens(client)
        revoked = await client.post("/auth/oauth/revoke", data={"token": issued["refresh_token"]})
        assert revoked.status_code == 200
        assert json.loads(revoked.text) == {}
        assert (await refresh(client, issued["refresh_token"])).status_code == 400
