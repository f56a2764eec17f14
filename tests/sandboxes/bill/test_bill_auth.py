"""BILL login, session headers, idle expiry and logout (fact sheet section 2)."""

from __future__ import annotations

import pytest

from sandboxes.bill.app import BillSandbox
from tests.sandboxes.bill.bill_helpers import API, login, single_error
from tests.sandboxes.sandbox_harness import Connector


async def test_login_answers_the_session_and_the_ids_of_org_and_user(connect: Connector) -> None:
    async with connect(BillSandbox()) as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        assert set(creds) == {"dev_key", "username", "password", "organization_id"}
        answer = await client.post(
            f"{API}/login",
            json={
                "username": creds["username"],
                "password": creds["password"],
                "organizationId": creds["organization_id"],
                "devKey": creds["dev_key"],
            },
        )
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {"organizationId", "sessionId", "trusted", "userId"}
        assert body["organizationId"] == creds["organization_id"]
        assert body["organizationId"].startswith("008")
        assert body["userId"].startswith("006")
        assert body["trusted"] is False


@pytest.mark.parametrize(
    ("change", "code"),
    [({"password": "wrong"}, "BDC_1101"), ({"devKey": "not-a-key"}, "BDC_1102")],
)
async def test_bad_credentials_and_bad_dev_keys_answer_their_bdc_codes(
    in_process: Connector, change: dict[str, str], code: str
) -> None:
    async with in_process(BillSandbox()) as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        body = {
            "username": creds["username"],
            "password": creds["password"],
            "organizationId": creds["organization_id"],
            "devKey": creds["dev_key"],
        } | change
        answer = await client.post(f"{API}/login", json=body)
        assert answer.status_code == 400
        assert single_error(answer)["code"] == code


async def test_a_call_without_the_session_header_is_refused_with_400(
    in_process: Connector,
) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        answer = await client.get(f"{API}/vendors", headers={"devKey": headers["devKey"]})
        assert answer.status_code == 400
        single_error(answer)


async def test_an_unknown_session_answers_401_bdc_1109(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        answer = await client.get(f"{API}/vendors", headers={**headers, "sessionId": "!forged"})
        assert answer.status_code == 401
        error = single_error(answer)
        assert error["code"] == "BDC_1109"
        assert error["message"] == "Session is invalid.  Please log in."
        assert error["category"] == "DOWNSTREAM"


async def test_a_session_idle_35_minutes_dies_with_the_generic_error(connect: Connector) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        await client.post("/_sandbox/clock", json={"advance_seconds": 35 * 60 - 5})
        assert (await client.get(f"{API}/vendors", headers=headers)).status_code == 200
        await client.post("/_sandbox/clock", json={"advance_seconds": 35 * 60 + 5})
        answer = await client.get(f"{API}/vendors", headers=headers)
        assert answer.status_code == 401
        assert single_error(answer)["code"] == "BDC_1109"


async def test_every_call_restarts_the_idle_timer(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        for _ in range(4):
            await client.post("/_sandbox/clock", json={"advance_seconds": 30 * 60})
            assert (await client.get(f"{API}/login/session", headers=headers)).status_code == 200


async def test_logout_answers_200_empty_and_kills_the_session(connect: Connector) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        info = await client.get(f"{API}/login/session", headers=headers)
        assert set(info.json()) == {"organizationId", "userId", "mfaStatus", "mfaBypass"}
        answer = await client.post(f"{API}/logout", headers=headers)
        assert answer.status_code == 200
        assert answer.content == b""
        after = await client.get(f"{API}/vendors", headers=headers)
        assert after.status_code == 401
        assert single_error(after)["code"] == "BDC_1109"


async def test_a_wrong_path_answers_404_api_not_supported(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        answer = await client.get(f"{API}/Vendors", headers=headers)
        assert answer.status_code == 404
        assert single_error(answer)["code"] == "BDC_1121"
