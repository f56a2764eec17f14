"""OAuth 2.0 per company subdomain (sheet 2b) and the OAuth-only cursor list (sheet 6)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import httpx

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from tests.sandboxes.sandbox_harness import Connector

COMPANY = "/acme.bamboohr.com"
API = f"{COMPANY}/api/v1"


async def _authorize(
    client: httpx.AsyncClient, *, scope: str | None = None, with_request: bool = True
) -> tuple[str, dict[str, str]]:
    creds = (await client.post("/_sandbox/credentials")).json()
    params = {
        "response_type": "code",
        "client_id": creds["client_id"],
        "redirect_uri": creds["redirect_uri"],
        "state": "st-42",
    }
    if with_request:
        params["request"] = "authorize"
    if scope is not None:
        params["scope"] = scope
    answer = await client.get(f"{COMPANY}/authorize.php", params=params)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == creds["redirect_uri"]
    query = parse_qs(location.query)
    assert query["state"] == ["st-42"]
    return query["code"][0], creds


def _code_body(code: str, creds: dict[str, str]) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "redirect_uri": creds["redirect_uri"],
    }


async def test_authorize_redirects_with_code_and_state_and_a_form_token_call_answers_its_keys(
    connect: Connector,
) -> None:
    async with connect(BambooHRSandbox()) as client:
        code, creds = await _authorize(client, scope="openid offline_access employee")
        answer = await client.post(
            f"{COMPANY}/token.php", params={"request": "token"}, data=_code_body(code, creds)
        )
        tokens = answer.json()
        assert set(tokens) == {
            "access_token",
            "token_type",
            "expires_in",
            "scope",
            "refresh_token",
            "id_token",
            "companyDomain",
        }
        assert (tokens["token_type"], tokens["expires_in"]) == ("Bearer", 3600)
        assert tokens["scope"] == "openid offline_access employee"
        assert tokens["companyDomain"] == "acme"
        claims = tokens["id_token"].split(".")[1]
        assert json.loads(base64.urlsafe_b64decode(claims + "=="))["companyDomain"] == "acme"


async def test_the_token_endpoint_takes_json_and_the_authorize_call_works_without_request_and_scope(
    connect: Connector,
) -> None:
    async with connect(BambooHRSandbox()) as client:
        code, creds = await _authorize(client, with_request=False)
        answer = await client.post(
            f"{COMPANY}/token.php?request=token", json=_code_body(code, creds)
        )
        assert answer.status_code == 200
        assert "employee" in answer.json()["scope"].split()


async def test_no_refresh_token_without_offline_access(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        code, creds = await _authorize(client, scope="employee")
        tokens = (await client.post(f"{COMPANY}/token.php", data=_code_body(code, creds))).json()
        assert "refresh_token" not in tokens


async def test_access_tokens_expire_after_3600_seconds_and_the_refresh_grant_renews_them(
    connect: Connector,
) -> None:
    async with connect(BambooHRSandbox()) as client:
        code, creds = await _authorize(client, scope="offline_access employee")
        tokens = (await client.post(f"{COMPANY}/token.php", data=_code_body(code, creds))).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
        url = f"{API}/employees/108"
        assert (await client.get(url, headers=bearer)).status_code == 200
        await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
        assert (await client.get(url, headers=bearer)).status_code == 401
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
        renewed = (await client.post(f"{COMPANY}/token.php", data=refresh)).json()
        # No rotation by default: the old refresh token keeps working (open question 3).
        assert "refresh_token" not in renewed
        again = await client.post(f"{COMPANY}/token.php", data=refresh)
        assert again.status_code == 200
        fresh = {"Authorization": f"Bearer {renewed['access_token']}"}
        assert (await client.get(url, headers=fresh)).status_code == 200


async def test_rotation_is_a_setting_and_then_the_old_refresh_token_is_refused(
    connect: Connector,
) -> None:
    settings = BambooHRSandboxSettings(rotate_refresh_token=True)
    async with connect(BambooHRSandbox(settings=settings)) as client:
        code, creds = await _authorize(client, scope="offline_access employee")
        tokens = (await client.post(f"{COMPANY}/token.php", data=_code_body(code, creds))).json()
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
        renewed = (await client.post(f"{COMPANY}/token.php", data=refresh)).json()
        assert renewed["refresh_token"] != tokens["refresh_token"]
        replay = await client.post(f"{COMPANY}/token.php", data=refresh)
        assert replay.json()["error"] == "invalid_grant"


async def test_a_redirect_uri_that_is_not_registered_exactly_is_refused(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        answer = await client.get(
            f"{COMPANY}/authorize.php",
            params={
                "response_type": "code",
                "client_id": creds["client_id"],
                "redirect_uri": creds["redirect_uri"] + "/",
            },
        )
        assert answer.status_code == 400
        code, _ = await _authorize(client)
        wrong = {**_code_body(code, creds), "redirect_uri": "https://elsewhere.example/cb"}
        assert (await client.post(f"{COMPANY}/token.php", data=wrong)).status_code == 400


async def test_a_code_works_once(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        code, creds = await _authorize(client)
        assert (
            await client.post(f"{COMPANY}/token.php", data=_code_body(code, creds))
        ).status_code == 200
        replay = await client.post(f"{COMPANY}/token.php", data=_code_body(code, creds))
        assert replay.json()["error"] == "invalid_grant"


async def test_the_cursor_list_pages_with_next_cursors_and_filters(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        code, creds = await _authorize(client)
        tokens = (await client.post(f"{COMPANY}/token.php", data=_code_body(code, creds))).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        seen: list[str] = []
        params: dict[str, str] = {"page[limit]": "15", "sort": "employeeId", "fields": "workEmail"}
        pages = 0
        while True:
            page = (await client.get(f"{API}/employees", params=params, headers=bearer)).json()
            pages += 1
            seen += [row["employeeId"] for row in page["data"]]
            assert page["meta"]["total"] == 40
            assert all("workEmail" in row and "_restrictedFields" in row for row in page["data"])
            cursor = page["meta"]["page"]["nextCursor"]
            if cursor is None:
                break
            assert "next" in page["_links"]
            params = {**params, "page[after]": cursor}
        assert pages == 3
        assert seen == [str(i) for i in range(101, 141)]
        inactive = await client.get(
            f"{API}/employees", params={"filter[status]": "inactive"}, headers=bearer
        )
        assert {row["employeeId"] for row in inactive.json()["data"]} == {
            "137",
            "138",
            "139",
            "140",
        }
        bad = await client.get(f"{API}/employees", params={"page[limit]": "9999"}, headers=bearer)
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, "BadPage")
