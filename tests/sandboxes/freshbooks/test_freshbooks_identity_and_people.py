"""Identity (sheet section 3), team members and staff (7.1), and the UI's people actions."""

from __future__ import annotations

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.seed import ACCOUNT_ID, BUSINESS_ID, BUSINESS_UUID, IDENTITY_ID
from tests.sandboxes.freshbooks.fb_helpers import ACCOUNTING, TEAM, bearer
from tests.sandboxes.sandbox_harness import Connector


async def test_me_lists_business_memberships_whose_id_is_not_the_business_id(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        answer = await client.get("/auth/api/v1/users/me", headers=headers)
        assert answer.status_code == 200
        me = answer.json()["response"]
        assert "result" not in me  # the auth family has no `result` level
        assert (me["id"], me["identity_id"]) == (IDENTITY_ID, IDENTITY_ID)
        owner, client_only = me["business_memberships"]
        assert owner["role"] == "owner"
        assert owner["business"]["id"] == BUSINESS_ID != owner["id"]
        assert owner["business"]["business_uuid"] == BUSINESS_UUID
        assert owner["business"]["account_id"] == ACCOUNT_ID
        assert client_only["business"]["account_id"] is None
        assert me["roles"][0]["accountid"] == ACCOUNT_ID
        assert me["roles"][0]["userid"] == 1


async def test_me_without_a_token_is_the_auth_familys_error(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        answer = await client.get("/auth/api/v1/users/me")
        assert answer.status_code == 401
        assert answer.json() == {
            "error": "unauthenticated",
            "error_description": "This action requires authentication to continue.",
        }


async def test_team_members_answer_response_and_meta_without_pages(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        answer = await client.get(
            TEAM, params={"active": "true", "page": 1, "per_page": 100}, headers=headers
        )
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {"response", "meta"}
        assert body["meta"] == {"page": 1, "per_page": 100, "total": 9}
        pending = [m for m in body["response"] if m["identity_id"] is None]
        assert [m["email"] for m in pending] == ["olivia.brennan@acmecreative.example"]
        member = body["response"][1]
        assert set(member) >= {"uuid", "first_name", "email", "job_title", "business_id", "active",
                               "identity_id", "invitation_date_accepted"}  # fmt: skip
        one = await client.get(f"{TEAM}/{member['uuid']}", headers=headers)
        assert one.json()["response"]["email"] == member["email"]
        everyone = (await client.get(TEAM, params={"per_page": 100}, headers=headers)).json()
        assert everyone["meta"]["total"] == 10


async def test_team_members_need_the_teams_scope(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client, scope="user:expenses:read")
        answer = await client.get(TEAM, headers=headers)
        assert answer.status_code == 403
        assert answer.json()["error"] == "access_denied"


async def test_an_invited_member_who_accepts_gets_a_staff_record_and_removal_soft_deletes_it(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        invite = await client.post(
            "/auth/api/v1/users/invitation",
            json={"capacity": "employee", "to_email": "rin.sato@acmecreative.example",
                  "invitable_id": BUSINESS_ID, "invitable_type": "business"},
            headers=headers,
        )  # fmt: skip
        assert invite.status_code == 200
        accepted = await client.post(
            "/_sandbox/actions/accept_invitation", json={"email": "rin.sato@acmecreative.example"}
        )
        assert accepted.status_code == 200
        staff_id = accepted.json()["staffid"]
        assert accepted.json()["identity_id"] is not None
        staff = await client.get(f"{ACCOUNTING}/users/staffs/{staff_id}", headers=headers)
        assert (
            staff.json()["response"]["result"]["staff"]["email"] == "rin.sato@acmecreative.example"
        )
        removed = await client.post(
            "/_sandbox/actions/deactivate_team_member",
            json={"email": "rin.sato@acmecreative.example"},
        )
        assert removed.json()["active"] is False
        staff = await client.get(f"{ACCOUNTING}/users/staffs/{staff_id}", headers=headers)
        assert staff.json()["response"]["result"]["staff"]["vis_state"] == 1


async def test_a_staff_member_is_soft_deleted_with_vis_state_only(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        answer = await client.put(
            f"{ACCOUNTING}/users/staffs/5",
            json={"staff": {"vis_state": 1, "fname": "ignored"}},
            headers=headers,
        )
        staff = answer.json()["response"]["result"]["staff"]
        assert (staff["vis_state"], staff["fname"]) == (1, "Priya")
