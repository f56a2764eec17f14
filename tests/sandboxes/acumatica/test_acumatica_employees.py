"""The contract-based Employee entity: URLs, value wrapping, queries, upsert (sheet 2, 4-6, 9)."""

from __future__ import annotations

from urllib.parse import quote

from tests.sandboxes.acumatica.acumatica_helpers import (
    DEFAULT,
    GRACE,
    INSTANCE,
    quiet_sandbox,
    sign_in,
    wrapped,
)
from tests.sandboxes.sandbox_harness import Connector

NEW_HIRE = {
    **wrapped(Status="Active"),
    "ContactInfo": wrapped(FirstName="Ava", LastName="Nguyen", Email="ava.nguyen@acme.example"),
    "EmployeeSettings": wrapped(BranchID="HQ", DepartmentID="ADMIN", EmployeeClass="EMPSALARY"),
}


async def test_the_endpoint_list_needs_no_sign_in_and_names_each_default_version(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        listing = (await client.get(f"{INSTANCE}/entity")).json()
        assert set(listing["version"]) == {"acumaticaBuildVersion", "databaseVersion"}
        versions = {(e["name"], e["version"]) for e in listing["endpoints"]}
        assert versions == {("Default", v) for v in ("22.200.001", "23.200.001", "24.200.001")}
        await sign_in(client)
        signed = (await client.get(f"{INSTANCE}/entity")).json()
        # The tenant's own endpoint (with Department) is listed to a signed-in caller only.
        assert ("MLConnector", "24.200.001") in {
            (e["name"], e["version"]) for e in signed["endpoints"]
        }


async def test_every_served_version_answers_and_any_other_version_is_404(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        for version in ("22.200.001", "23.200.001", "24.200.001"):
            answer = await client.get(f"{INSTANCE}/entity/Default/{version}/Employee")
            assert answer.status_code == 200, version
        for version in ("25.200.001", "20.200.001", "24.100.001"):
            answer = await client.get(f"{INSTANCE}/entity/Default/{version}/Employee")
            assert answer.status_code == 404, version


async def test_a_list_is_a_bare_array_of_wrapped_values_without_linked_entities(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        rows = (await client.get(f"{DEFAULT}/Employee")).json()
        assert isinstance(rows, list)
        first = rows[0]
        assert first["EmployeeID"] == {"value": "EP00000001"}
        assert first["rowNumber"] == 1
        assert isinstance(first["id"], str)
        assert first["note"] == {"value": ""}
        assert first["custom"] == {}
        assert first["_links"]["self"].endswith(f"/Employee/{first['id']}")
        assert first["LastModifiedDateTime"]["value"].endswith("+00:00")
        assert "ContactInfo" not in first
        assert "EmploymentHistory" not in first


async def test_expand_and_select_shape_the_answer(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        query = {
            "$expand": "ContactInfo,ContactInfo/Address",
            "$select": "EmployeeID,ContactInfo/Email,ContactInfo/Address/Country",
        }
        row = (await client.get(f"{DEFAULT}/Employee/{GRACE}", params=query)).json()
        assert row["EmployeeID"] == {"value": GRACE}
        assert "Status" not in row
        contact = row["ContactInfo"]
        assert contact["Email"] == {"value": "grace.holloway@acmecreative.example"}
        assert "FirstName" not in contact
        assert contact["Address"]["Country"] == {"value": "US"}
        full = (
            await client.get(
                f"{DEFAULT}/Employee/{GRACE}",
                params={"$expand": "EmployeeSettings,EmploymentHistory"},
            )
        ).json()
        assert full["EmployeeSettings"]["DepartmentID"] == {"value": "ADMIN"}
        assert full["EmployeeSettings"]["ReportsTo"] == {}
        assert full["EmploymentHistory"][0]["LineNbr"] == {"value": 1}


async def test_top_and_skip_page_through_the_list(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        seen: list[str] = []
        for skip in range(0, 10, 4):
            page = (
                await client.get(f"{DEFAULT}/Employee", params={"$top": 4, "$skip": skip})
            ).json()
            seen += [row["EmployeeID"]["value"] for row in page]
        assert seen == [f"EP0000000{n}" for n in range(1, 7)]


async def test_the_watermark_filter_takes_an_encoded_datetimeoffset_literal(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        await client.post(
            "/_sandbox/actions/edit_employee",
            json={"employee_id": GRACE, "changes": {"Status": "On Hold"}},
        )
        literal = "datetimeoffset'2026-01-05T09:00:00.000+00:00'"
        url = f"{DEFAULT}/Employee?$filter={quote(f'LastModifiedDateTime gt {literal}')}"
        changed = (await client.get(url)).json()
        assert [r["EmployeeID"]["value"] for r in changed] == [GRACE]
        ge = url.replace("%20gt%20", "%20ge%20")
        assert len((await client.get(ge)).json()) == 6


async def test_an_unencoded_plus_in_the_literal_does_not_parse(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        raw = "LastModifiedDateTime%20gt%20datetimeoffset'2026-01-05T09:00:00.000+00:00'"
        answer = await client.get(f"{DEFAULT}/Employee?$filter={raw}")
        assert answer.status_code == 500
        assert set(answer.json()) >= {"message", "exceptionMessage", "exceptionType"}


async def test_filters_combine_linked_paths_functions_and_boolean_operators(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)

        async def ids(expression: str) -> list[str]:
            rows = (await client.get(f"{DEFAULT}/Employee", params={"$filter": expression})).json()
            return [r["EmployeeID"]["value"] for r in rows]

        assert await ids("ContactInfo/Email eq 'grace.holloway@acmecreative.example'") == [GRACE]
        assert await ids("EmployeeSettings/DepartmentID eq 'FINANCE' and Status eq 'Active'") == [
            "EP00000001",
            "EP00000002",
        ]
        assert await ids("Status eq 'Inactive' or Status eq 'On Hold'") == [
            "EP00000005",
            "EP00000006",
        ]
        assert await ids("startswith(ContactInfo/LastName,'Hol')") == [GRACE]
        assert await ids("substringof('petrova', ContactInfo/Email)") == ["EP00000005"]
        assert await ids("endswith(EmployeeID,'6') eq true") == ["EP00000006"]
        assert len(await ids("Status ne 'Active'")) == 2
        assert await ids("LastModifiedDateTime lt date'2026-01-01'") == []


async def test_filtering_by_a_detail_entity_is_refused(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        answer = await client.get(
            f"{DEFAULT}/Employee", params={"$filter": "EmploymentHistory/PositionID eq 'X'"}
        )
        assert answer.status_code == 500
        assert "detail" in answer.json()["exceptionMessage"]


async def test_a_missing_record_by_key_is_a_500_no_entity_satisfies_the_condition(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        answer = await client.get(f"{DEFAULT}/Employee/EP99999999")
        assert answer.status_code == 500
        body = answer.json()
        assert body["exceptionType"] == (
            "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException"
        )
        assert body["exceptionMessage"] == "No entity satisfies the condition."


async def test_put_inserts_with_an_auto_numbered_key_and_class_defaults(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        created = await client.put(
            f"{DEFAULT}/Employee", json=NEW_HIRE, params={"$expand": "ContactInfo,EmployeeSettings"}
        )
        assert created.status_code == 200
        body = created.json()
        assert body["EmployeeID"] == {"value": "EP00000007"}
        assert body["EmployeeName"] == {"value": "Ava Nguyen"}
        assert body["EmployeeSettings"]["Calendar"] == {"value": "MAIN"}
        by_id = await client.get(f"{DEFAULT}/Employee/{body['id']}")
        assert by_id.json()["EmployeeID"] == {"value": "EP00000007"}


async def test_put_without_query_options_answers_only_the_fields_sent(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        body = {**wrapped(EmployeeID=GRACE), "ContactInfo": wrapped(Phone1="+1 212 555 0100")}
        answer = (await client.put(f"{DEFAULT}/Employee", json=body)).json()
        assert answer["ContactInfo"]["Phone1"] == {"value": "+1 212 555 0100"}
        assert "Email" not in answer["ContactInfo"]
        assert "Status" not in answer
        assert "EmployeeSettings" not in answer


async def test_put_matches_by_key_and_by_url_filter_and_updates_in_place(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        by_key = {**wrapped(EmployeeID=GRACE), "ContactInfo": wrapped(MiddleName="J")}
        assert (await client.put(f"{DEFAULT}/Employee", json=by_key)).status_code == 200
        by_filter = {"ContactInfo": wrapped(Title="Ms.")}
        email = "ContactInfo/Email eq 'grace.holloway@acmecreative.example'"
        answer = await client.put(
            f"{DEFAULT}/Employee",
            json=by_filter,
            params={"$filter": email, "$expand": "ContactInfo"},
        )
        contact = answer.json()["ContactInfo"]
        assert contact["MiddleName"] == {"value": "J"}
        assert contact["Title"] == {"value": "Ms."}
        assert len((await client.get(f"{DEFAULT}/Employee")).json()) == 6


async def test_last_modified_moves_only_when_a_value_really_changes(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        before = (await client.get(f"{DEFAULT}/Employee/{GRACE}")).json()
        same = {**wrapped(EmployeeID=GRACE, Status="Active")}
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        unchanged = (
            await client.put(
                f"{DEFAULT}/Employee", json=same, params={"$select": "LastModifiedDateTime"}
            )
        ).json()
        assert unchanged["LastModifiedDateTime"] == before["LastModifiedDateTime"]
        other = {**wrapped(EmployeeID=GRACE, Status="On Hold")}
        changed = (
            await client.put(
                f"{DEFAULT}/Employee", json=other, params={"$select": "LastModifiedDateTime"}
            )
        ).json()
        assert changed["LastModifiedDateTime"]["value"] > before["LastModifiedDateTime"]["value"]


async def test_if_none_match_and_if_match_turn_conflicts_into_412(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        existing = {**wrapped(EmployeeID=GRACE, Status="Active")}
        insert_only = await client.put(
            f"{DEFAULT}/Employee", json=existing, headers={"If-None-Match": "*"}
        )
        assert insert_only.status_code == 412
        missing = {**wrapped(EmployeeID="EP12345678", Status="Active")}
        update_only = await client.put(
            f"{DEFAULT}/Employee", json=missing, headers={"If-Match": "*"}
        )
        assert update_only.status_code == 412
        assert len((await client.get(f"{DEFAULT}/Employee")).json()) == 6


async def test_unwrapped_and_mistyped_values_are_refused_with_400(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        for body in (
            {"Status": "Active"},
            {"ContactInfo": {"LastName": "Nguyen"}},
            {"EmployeeSettings": {"RouteEmails": {"value": "yes"}}},
            {"EmploymentHistory": {"LineNbr": {"value": 1}}},
        ):
            answer = await client.put(f"{DEFAULT}/Employee", json=body)
            assert answer.status_code == 400, body
            assert answer.json()["modelState"]
        assert len((await client.get(f"{DEFAULT}/Employee")).json()) == 6


async def test_invalid_values_come_back_as_422_with_the_error_on_the_field(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        body = {
            **NEW_HIRE,
            **wrapped(Status="Retired"),
            "EmployeeSettings": wrapped(DepartmentID="NOSUCH"),
        }
        answer = await client.put(f"{DEFAULT}/Employee", json=body)
        assert answer.status_code == 422
        echo = answer.json()
        assert echo["Status"]["value"] == "Retired"
        assert "allowed values" in echo["Status"]["error"]
        assert "NOSUCH" in echo["EmployeeSettings"]["DepartmentID"]["error"]
        assert "raised at least one error" in echo["error"]
        no_name = {"EmployeeSettings": wrapped(DepartmentID="ADMIN")}
        missing = (await client.put(f"{DEFAULT}/Employee", json=no_name)).json()
        assert missing["ContactInfo"]["LastName"]["error"]


async def test_the_key_changes_only_through_the_change_employee_id_action(
    connect: Connector,
) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        action = {"entity": wrapped(EmployeeID=GRACE), "parameters": wrapped(EmployeeID="GHOLLO")}
        answer = await client.post(f"{DEFAULT}/Employee/ChangeEmployeeID", json=action)
        assert answer.status_code == 204
        moved = await client.get(answer.headers["location"])
        assert moved.json()["EmployeeID"] == {"value": "GHOLLO"}
        assert (await client.get(f"{DEFAULT}/Employee/{GRACE}")).status_code == 500


async def test_delete_by_key_answers_204(connect: Connector) -> None:
    async with connect(quiet_sandbox()) as client:
        await sign_in(client)
        assert (await client.delete(f"{DEFAULT}/Employee/EP00000006")).status_code == 204
        assert (await client.get(f"{DEFAULT}/Employee/EP00000006")).status_code == 500
        assert (await client.delete(f"{DEFAULT}/Employee/EP00000006")).status_code == 500
