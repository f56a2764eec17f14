"""Cookie sign-in, sign-out, API-user seats and idle expiry (sheet sections 1 and 3a-3b)."""

from __future__ import annotations

from tests.sandboxes.acumatica.acumatica_helpers import (
    CREDENTIALS,
    DEFAULT,
    INSTANCE,
    LOGIN,
    LOGOUT,
    quiet_sandbox,
    sign_in,
)
from tests.sandboxes.sandbox_harness import Connector


async def test_sign_in_answers_204_with_the_asp_net_cookies(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        answer = await sign_in(client)
        assert answer.content == b""
        names = {c.split("=", 1)[0] for c in answer.headers.get_list("set-cookie")}
        assert {".ASPXAUTH", "ASP.NET_SessionId", "UserBranch", "CompanyID"} <= names
        employees = await client.get(f"{DEFAULT}/Employee")
        assert employees.status_code == 200


async def test_a_wrong_password_is_a_500_px_exception(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        answer = await client.post(LOGIN, json={**CREDENTIALS, "password": "nope"})
        assert answer.status_code == 500
        body = answer.json()
        assert body["exceptionMessage"] == "Error: Invalid credentials. Please try again."
        assert body["exceptionType"] == "PX.Data.PXException"
        assert body["message"] == "An error has occurred."


async def test_calls_without_a_session_are_refused_with_401(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        assert (await client.get(f"{DEFAULT}/Employee")).status_code == 401
        forged = await client.get(f"{DEFAULT}/Employee", headers={"Cookie": ".ASPXAUTH=F00D"})
        assert forged.status_code == 401


async def test_the_form_encoded_body_and_the_company_alias_sign_in_too(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        form = {
            "name": CREDENTIALS["name"],
            "password": CREDENTIALS["password"],
            "company": "AcmeLive",
        }
        answer = await client.post(LOGIN, data=form)
        assert answer.status_code == 204
        assert answer.cookies.get("CompanyID") == "AcmeLive"


async def test_the_tenant_chosen_at_sign_in_scopes_every_record(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client, tenant="AcmeTest")
        test_rows = (await client.get(f"{DEFAULT}/Employee")).json()
        await client.post(LOGOUT)
        await sign_in(client, tenant="AcmeLive")
        live_rows = (await client.get(f"{DEFAULT}/Employee")).json()
        assert len(test_rows) == 1
        assert len(live_rows) == 6
        assert {r["id"] for r in test_rows}.isdisjoint({r["id"] for r in live_rows})


async def test_a_third_session_on_a_two_seat_license_is_refused_with_api_login_limit(
    connect: Connector,
) -> None:
    sandbox = quiet_sandbox()
    async with connect(sandbox) as client:
        first = await sign_in(client)
        client.cookies.clear()
        await sign_in(client)
        client.cookies.clear()
        refused = await client.post(LOGIN, json=CREDENTIALS)
        assert refused.status_code == 429
        assert "API Login Limit" in refused.text
        # Signing the first session out frees its seat.
        first_cookie = f".ASPXAUTH={first.cookies['.ASPXAUTH']}"
        freed = await client.post(LOGOUT, headers={"Cookie": first_cookie})
        assert freed.status_code == 204
        client.cookies.clear()
        assert (await client.post(LOGIN, json=CREDENTIALS)).status_code == 204


async def test_the_login_limit_body_can_be_plain_text(connect: Connector) -> None:
    async with connect(quiet_sandbox(api_user_seats=1, login_limit_body="text")) as client:
        await sign_in(client)
        client.cookies.clear()
        refused = await client.post(LOGIN, json=CREDENTIALS)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("text/plain")
        assert refused.text == "API Login Limit"


async def test_signing_in_again_with_a_live_cookie_reuses_its_seat(connect: Connector) -> None:
    async with connect(quiet_sandbox(api_user_seats=1)) as client:
        await sign_in(client)
        await sign_in(client)
        assert (await client.get(f"{DEFAULT}/Employee")).status_code == 200


async def test_an_idle_session_is_dropped_after_ten_minutes_and_frees_its_seat(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox(api_user_seats=1)) as client:
        await sign_in(client)
        await client.post("/_sandbox/clock", json={"advance_seconds": 590})
        assert (await client.get(f"{DEFAULT}/Employee")).status_code == 200
        # Each call restarts the idle timer; ten quiet minutes end the session.
        await client.post("/_sandbox/clock", json={"advance_seconds": 600})
        assert (await client.get(f"{DEFAULT}/Employee")).status_code == 401
        client.cookies.clear()
        assert (await client.post(LOGIN, json=CREDENTIALS)).status_code == 204


async def test_logout_answers_204_and_the_cookie_stops_working(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        signed = await sign_in(client)
        cookie = signed.cookies[".ASPXAUTH"]
        assert (await client.post(LOGOUT)).status_code == 204
        refused = await client.get(f"{DEFAULT}/Employee", headers={"Cookie": f".ASPXAUTH={cookie}"})
        assert refused.status_code == 401


async def test_paths_outside_the_instance_are_not_served(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        assert (await client.post("/entity/auth/login", json=CREDENTIALS)).status_code == 404
        assert (await client.get(f"{INSTANCE}/entity")).status_code == 200
