"""Host styles, company scoping and API-key auth, from sheet sections 1, 2a and 13."""

from __future__ import annotations

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from tests.sandboxes.bamboohr.bamboo_helpers import (
    ACTIVE_EMPLOYEE,
    ADMIN,
    GATEWAY,
    JSON,
    MANAGER,
    SUBDOMAIN,
)
from tests.sandboxes.sandbox_harness import Connector

FIELDS = {"fields": "firstName,lastName"}


async def test_the_gateway_the_path_prefix_and_the_host_header_serve_the_same_company(
    connect: Connector,
) -> None:
    async with connect(BambooHRSandbox()) as client:
        path = f"/employees/{ACTIVE_EMPLOYEE}"
        answers = [
            await client.get(f"{GATEWAY}{path}", params=FIELDS, auth=ADMIN, headers=JSON),
            await client.get(f"{SUBDOMAIN}{path}", params=FIELDS, auth=ADMIN, headers=JSON),
            await client.get(
                f"/api/v1{path}",
                params=FIELDS,
                auth=ADMIN,
                headers={**JSON, "Host": "acme.bamboohr.localhost"},
            ),
        ]
        assert [a.status_code for a in answers] == [200, 200, 200]
        expected = {"id": ACTIVE_EMPLOYEE, "firstName": "Liam", "lastName": "Walsh"}
        assert all(a.json() == expected for a in answers)


async def test_an_unknown_company_is_404_in_every_host_style(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        path = f"/employees/{ACTIVE_EMPLOYEE}"
        assert (
            await client.get(f"/api/gateway.php/globex/v1{path}", auth=ADMIN)
        ).status_code == 404
        assert (
            await client.get(f"/globex.bamboohr.com/api/v1{path}", auth=ADMIN)
        ).status_code == 404
        by_host = await client.get(
            f"/api/v1{path}", auth=ADMIN, headers={"Host": "globex.bamboohr.localhost"}
        )
        assert by_host.status_code == 404


async def test_a_missing_key_is_401_with_the_error_header_and_no_body(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        answer = await client.get(f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}")
        assert answer.status_code == 401
        assert answer.content == b""
        assert answer.headers["x-bamboohr-error-message"]


async def test_any_password_works_with_a_valid_key_and_an_unknown_key_is_401(
    connect: Connector,
) -> None:
    async with connect(BambooHRSandbox()) as client:
        url = f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}"
        assert (await client.get(url, auth=MANAGER)).status_code == 200
        assert (await client.get(url, auth=("0" * 40, "x"))).status_code == 401


async def test_repeated_unknown_keys_lock_the_company_out_with_403_until_the_lockout_ends(
    connect: Connector,
) -> None:
    settings = BambooHRSandboxSettings(bad_key_lockout_after=3, bad_key_lockout_seconds=600)
    async with connect(BambooHRSandbox(settings=settings)) as client:
        url = f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}"
        bad = [(await client.get(url, auth=("f" * 40, "x"))).status_code for _ in range(3)]
        assert bad == [401, 401, 401]
        assert (await client.get(url, auth=ADMIN)).status_code == 403
        await client.post("/_sandbox/clock", json={"advance_seconds": 601})
        assert (await client.get(url, auth=ADMIN)).status_code == 200


async def test_fields_outside_the_keys_access_are_omitted_and_other_employees_are_403(
    connect: Connector,
) -> None:
    async with connect(BambooHRSandbox()) as client:
        fields = {"fields": "firstName,payRate,dateOfBirth,jobTitle"}
        mine = await client.get(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", params=fields, auth=MANAGER, headers=JSON
        )
        assert mine.json() == {
            "id": ACTIVE_EMPLOYEE,
            "firstName": "Liam",
            "jobTitle": "Senior Designer",
        }
        admin_view = await client.get(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", params=fields, auth=ADMIN, headers=JSON
        )
        assert set(admin_view.json()) == {"id", "firstName", "payRate", "dateOfBirth", "jobTitle"}
        other = await client.get(f"{GATEWAY}/employees/105", auth=MANAGER, headers=JSON)
        assert other.status_code == 403


async def test_bearer_tokens_are_refused_on_the_gateway_host_by_default(
    connect: Connector,
) -> None:
    async with connect(BambooHRSandbox()) as client:
        answer = await client.get(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}",
            headers={"Authorization": "Bearer whatever"},
        )
        assert answer.status_code == 401


async def test_trailing_slashes_and_api_versions_are_accepted(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        assert (
            await client.get(f"{GATEWAY}/meta/lists/", auth=ADMIN, headers=JSON)
        ).status_code == 200
        v1_1 = "/api/gateway.php/acme/v1_1/employees/108/tables/jobInfo"
        assert (await client.get(v1_1, auth=ADMIN, headers=JSON)).status_code == 200
        v9 = "/api/gateway.php/acme/v9/employees/108"
        assert (await client.get(v9, auth=ADMIN)).status_code == 404


async def test_an_unknown_url_or_method_is_a_classic_404(connect: Connector) -> None:
    async with connect(BambooHRSandbox()) as client:
        unknown_url = await client.get(f"{GATEWAY}/no/such/thing", auth=ADMIN)
        wrong_method = await client.patch(f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", auth=ADMIN)
        for answer in (unknown_url, wrong_method):
            assert (answer.status_code, answer.content) == (404, b"")
            assert answer.headers["x-bamboohr-error-message"]
