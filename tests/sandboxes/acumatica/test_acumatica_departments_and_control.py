"""Departments on the extension endpoint (sheet 7), UI actions and the control API."""

from __future__ import annotations

from tests.sandboxes.acumatica.acumatica_helpers import (
    DEFAULT,
    EXTENSION,
    GRACE,
    quiet_sandbox,
    sign_in,
    wrapped,
)
from tests.sandboxes.sandbox_harness import Connector


async def test_the_default_endpoint_has_no_department_entity(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        assert (await client.get(f"{DEFAULT}/Department")).status_code == 404
        listed = (await client.get(f"{EXTENSION}/Department")).json()
        assert [d["DepartmentID"]["value"] for d in listed] == [
            "ADMIN",
            "FINANCE",
            "PRODUCTION",
            "SALES",
        ]


async def test_the_extension_endpoint_also_serves_every_default_entity(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        employees = (await client.get(f"{EXTENSION}/Employee")).json()
        assert len(employees) == 6


async def test_a_department_key_is_forced_upper_case_and_at_most_ten_characters(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        body = wrapped(DepartmentID="creative", Description="Creative")
        created = (await client.put(f"{EXTENSION}/Department", json=body)).json()
        assert created["DepartmentID"] == {"value": "CREATIVE"}
        again = await client.put(
            f"{EXTENSION}/Department", json=wrapped(DepartmentID="CREATIVE", Description="Design")
        )
        assert again.status_code == 200
        assert len((await client.get(f"{EXTENSION}/Department")).json()) == 5
        too_long = await client.put(
            f"{EXTENSION}/Department", json=wrapped(DepartmentID="CLIENTSERVICES")
        )
        assert too_long.status_code == 422
        assert too_long.json()["DepartmentID"]["error"]
        wordy = wrapped(DepartmentID="OPS", Description="x" * 61)
        assert (await client.put(f"{EXTENSION}/Department", json=wordy)).status_code == 422


async def test_an_employee_may_use_a_department_once_it_exists(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        hire = {
            "ContactInfo": wrapped(LastName="Reed"),
            "EmployeeSettings": wrapped(DepartmentID="PEOPLE"),
        }
        assert (await client.put(f"{DEFAULT}/Employee", json=hire)).status_code == 422
        await client.put(f"{EXTENSION}/Department", json=wrapped(DepartmentID="PEOPLE"))
        assert (await client.put(f"{DEFAULT}/Employee", json=hire)).status_code == 200


async def test_editing_an_employee_in_the_ui_bumps_last_modified_and_the_poll_sees_it(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
        await sign_in(client)
        edited = await client.post(
            "/_sandbox/actions/edit_employee",
            json={"employee_id": GRACE, "changes": {"ContactInfo": {"LastName": "Holloway-Park"}}},
        )
        assert edited.status_code == 200
        stamp = edited.json()["LastModifiedDateTime"]["value"]
        assert stamp > "2026-01-05T09:00:00.000+00:00"
        since = f"LastModifiedDateTime gt datetimeoffset'{stamp}'"
        assert (await client.get(f"{DEFAULT}/Employee", params={"$filter": since})).json() == []
        since_before = "LastModifiedDateTime gt datetimeoffset'2026-01-05T09:00:00.000+00:00'"
        rows = (
            await client.get(
                f"{DEFAULT}/Employee", params={"$filter": since_before, "$expand": "ContactInfo"}
            )
        ).json()
        assert [r["ContactInfo"]["LastName"]["value"] for r in rows] == ["Holloway-Park"]
        assert rows[0]["EmployeeName"] == {"value": "Grace Holloway-Park"}


async def test_ui_actions_refuse_unknown_employees_and_invalid_values(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        missing = await client.post(
            "/_sandbox/actions/edit_employee", json={"employee_id": "EP404", "changes": {}}
        )
        assert missing.status_code == 404
        invalid = await client.post(
            "/_sandbox/actions/edit_employee",
            json={"employee_id": GRACE, "changes": {"Status": "Gone"}},
        )
        assert invalid.status_code == 422
        misshapen = await client.post(
            "/_sandbox/actions/edit_employee",
            json={"employee_id": GRACE, "changes": {"EmploymentHistory": {"LineNbr": 2}}},
        )
        assert misshapen.status_code == 400
        added = await client.post(
            "/_sandbox/actions/add_department",
            json={"department_id": "strategy", "description": "Strategy"},
        )
        assert added.json()["DepartmentID"] == {"value": "STRATEGY"}


async def test_ending_every_session_frees_the_seats(connect: Connector) -> None:
    async with connect(quiet_sandbox(api_user_seats=1)) as client:
        await sign_in(client)
        ended = await client.post("/_sandbox/actions/end_sessions", json={})
        assert ended.json() == {"closed": 1}
        assert (await client.get(f"{DEFAULT}/Employee")).status_code == 401


async def test_credentials_carry_the_keys_the_issue_fixes(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        credentials = (await client.post("/_sandbox/credentials")).json()
        assert {
            "base_url",
            "username",
            "password",
            "tenant",
            "branch",
            "endpoint",
            "version",
        } <= set(credentials)
        # The base URL is the origin the sandbox was reached at, plus the instance path.
        assert (
            credentials["base_url"]
            == f"{client.base_url.scheme}://{client.base_url.netloc.decode()}/AcumaticaERP"
        )
        body = {
            "name": credentials["username"],
            "password": credentials["password"],
            "tenant": credentials["tenant"],
            "branch": credentials["branch"],
        }
        assert (await client.post("/AcumaticaERP/entity/auth/login", json=body)).status_code == 204
        url = f"/AcumaticaERP/entity/{credentials['endpoint']}/{credentials['version']}/Employee"
        assert (await client.get(url)).status_code == 200


async def test_reset_restores_the_seed_and_empty_starts_with_nothing(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await client.post("/_sandbox/actions/add_department", json={"department_id": "X1"})
        await client.post("/_sandbox/reset", json={})
        departments = (await client.get("/_sandbox/state/departments")).json()
        assert "X1" not in {d["DepartmentID"] for d in departments}
        await client.post("/_sandbox/reset", json={"empty": True})
        assert (await client.get("/_sandbox/state/employees")).json() == []
