"""The OAuth 2.0 authorization-code helper: codes, lifetimes on the clock, rotation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.sandboxes.kit.toy_sandbox import REDIRECT_URI, ToySandbox
from tests.sandboxes.sandbox_harness import Connector


async def _authorize(client: httpx.AsyncClient, state: str = "xyz") -> str:
    answer = await client.get(
        "/oauth/authorize",
        params={"client_id": "toy-client", "redirect_uri": REDIRECT_URI, "state": state},
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def _code_form(code: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": "toy-client",
        "client_secret": "toy-secret",
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }


async def test_authorize_auto_consents_and_the_code_works_exactly_once(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        code = await _authorize(client)
        tokens = (await client.post("/oauth/token", data=_code_form(code))).json()
        assert tokens["expires_in"] == 600
        me = await client.get("/me", headers={"authorization": f"Bearer {tokens['access_token']}"})
        assert me.json() == {"subject": "user-1"}
        again = await client.post("/oauth/token", data=_code_form(code))
        assert again.json() == {"error": "invalid_grant"}


async def test_an_unregistered_redirect_uri_is_refused_without_redirecting(
    connect: Connector,
) -> None:
    async with connect(ToySandbox()) as client:
        answer = await client.get(
            "/oauth/authorize",
            params={"client_id": "toy-client", "redirect_uri": "https://evil.example/cb"},
        )
        assert answer.status_code == 400
        assert "location" not in answer.headers


async def test_codes_and_access_tokens_expire_on_the_sandbox_clock(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        stale_code = await _authorize(client)
        await client.post("/_sandbox/clock", json={"advance_seconds": 601})
        expired = await client.post("/oauth/token", data=_code_form(stale_code))
        assert expired.json() == {"error": "invalid_grant"}
        tokens = (
            await client.post("/oauth/token", data=_code_form(await _authorize(client)))
        ).json()
        auth = {"authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get("/me", headers=auth)).status_code == 200
        await client.post("/_sandbox/clock", json={"advance_seconds": 600})
        assert (await client.get("/me", headers=auth)).status_code == 401


async def test_a_rotating_refresh_kills_the_old_refresh_token(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        tokens = (
            await client.post("/oauth/token", data=_code_form(await _authorize(client)))
        ).json()
        form = {
            "grant_type": "refresh_token",
            "client_id": "toy-client",
            "client_secret": "toy-secret",
            "refresh_token": tokens["refresh_token"],
        }
        renewed = (await client.post("/oauth/token", data=form)).json()
        assert renewed["refresh_token"] not in (None, tokens["refresh_token"])
        replay = await client.post("/oauth/token", data=form)
        assert replay.json() == {"error": "invalid_grant"}
        wrong_secret = await client.post(
            "/oauth/token",
            data={**form, "refresh_token": renewed["refresh_token"], "client_secret": "x"},
        )
        assert wrong_secret.status_code == 401
