"""Employee reads and writes, written from sheet sections 3-8."""

from __future__ import annotations

import httpx

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from tests.sandboxes.bamboohr.bamboo_helpers import (
    ACTIVE_EMPLOYEE,
    ADMIN,
    GATEWAY,
    JSON,
    TERMINATED_EMPLOYEE,
)
from tests.sandboxes.sandbox_harness import run_in_process as in_process_client


async def _get(client: httpx.AsyncClient, employee_id: str, fields: str) -> dict[str, object]:
    answer = await client.get(
        f"{GATEWAY}/employees/{employee_id}", params={"fields": fields}, auth=ADMIN, headers=JSON
    )
    assert answer.status_code == 200, answer.headers
    value: dict[str, object] = answer.json()
    return value


async def test_without_fields_only_the_id_comes_back() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        answer = await client.get(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", auth=ADMIN, headers=JSON
        )
        assert answer.json() == {"id": ACTIVE_EMPLOYEE}


async def test_the_first_and_last_name_default_is_a_setting() -> None:
    settings = BambooHRSandboxSettings(fields_when_omitted="first_and_last_name")
    async with in_process_client(BambooHRSandbox(settings=settings)) as client:
        answer = await client.get(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", auth=ADMIN, headers=JSON
        )
        assert answer.json() == {"id": ACTIVE_EMPLOYEE, "firstName": "Liam", "lastName": "Walsh"}


async def test_fields_take_aliases_and_numeric_ids_and_unknown_ones_are_omitted() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        values = await _get(client, ACTIVE_EMPLOYEE, "firstName,4,noSuchField,customShoeSize")
        assert values == {"id": ACTIVE_EMPLOYEE, "firstName": "Liam", "department": "Creative"}


async def test_more_than_400_fields_is_a_400() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        fields = ",".join(["firstName"] * 401)
        answer = await client.get(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", params={"fields": fields}, auth=ADMIN
        )
        assert answer.status_code == 400


async def test_id_zero_is_the_employee_behind_the_key_and_unknown_ids_are_404() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        assert (await _get(client, "0", "firstName")) == {"id": "102", "firstName": "Marcus"}
        missing = await client.get(f"{GATEWAY}/employees/9999", auth=ADMIN, headers=JSON)
        assert missing.status_code == 404


async def test_xml_is_the_answer_unless_json_is_accepted() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        answer = await client.get(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", params={"fields": "firstName"}, auth=ADMIN
        )
        assert answer.headers["content-type"].startswith("text/xml")
        assert '<field id="firstName">Liam</field>' in answer.text


async def test_the_directory_lists_active_people_only_and_is_404_when_empty() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        directory = (
            await client.get(f"{GATEWAY}/employees/directory", auth=ADMIN, headers=JSON)
        ).json()
        ids = {e["id"] for e in directory["employees"]}
        assert len(ids) == 36
        assert TERMINATED_EMPLOYEE not in ids
        assert {f["id"] for f in directory["fields"]} >= {"displayName", "workEmail", "department"}
        keys = (await client.get("/_sandbox/state/api_keys")).json()
        await client.post("/_sandbox/reset", json={"empty": True})
        await client.post("/_sandbox/seed", json={"api_keys": keys})
        empty = await client.get(f"{GATEWAY}/employees/directory", auth=ADMIN, headers=JSON)
        assert empty.status_code == 404


async def test_create_answers_201_with_location_and_update_answers_an_empty_200() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        created = await client.post(
            f"{GATEWAY}/employees",
            json={"firstName": "Kai", "lastName": "Moreno", "workEmail": "kai@acme.example"},
            auth=ADMIN,
        )
        assert created.status_code == 201
        new_id = created.headers["location"].rsplit("/", 1)[1]
        assert created.headers["location"] == f"http://sandbox.test{GATEWAY}/employees/{new_id}"
        updated = await client.post(
            f"{GATEWAY}/employees/{new_id}", json={"preferredName": "K"}, auth=ADMIN
        )
        assert (updated.status_code, updated.content) == (200, b"")
        assert updated.headers["content-type"].startswith("text/html")
        values = await _get(client, new_id, "preferredName,displayName,status,hireDate")
        assert values["displayName"] == "K Moreno"
        assert values["status"] == "Active"


async def test_create_takes_an_xml_body_and_requires_first_and_last_name() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        xml = '<employee><field id="firstName">Xi</field><field id="lastName">Lo</field></employee>'
        created = await client.post(f"{GATEWAY}/employees/", content=xml, auth=ADMIN)
        assert created.status_code == 201
        new_id = created.headers["location"].rsplit("/", 1)[1]
        assert (await _get(client, new_id, "firstName"))["firstName"] == "Xi"
        nameless = await client.post(f"{GATEWAY}/employees", json={"firstName": "A"}, auth=ADMIN)
        assert nameless.status_code == 400


async def test_an_invalid_list_value_on_create_or_update_is_409_as_the_openapi_says() -> None:
    # SPEC create-employee / update-employee: "a field was given an invalid value" -> 409;
    # 406 stays for fields that do not exist.
    async with in_process_client(BambooHRSandbox()) as client:
        hire = {"firstName": "Nia", "lastName": "Okafor", "department": "Astrology"}
        created = await client.post(f"{GATEWAY}/employees", json=hire, auth=ADMIN)
        assert created.status_code == 409
        assert "department" in created.headers["x-bamboohr-error-message"]
        moved = await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", json={"jobTitle": "Wizard"}, auth=ADMIN
        )
        assert moved.status_code == 409
        archived = await client.post(  # an archived option is no longer a valid value
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", json={"department": "Events"}, auth=ADMIN
        )
        assert archived.status_code == 409
        fine = await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", json={"department": "Strategy"}, auth=ADMIN
        )
        assert fine.status_code == 200
        both = await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}",
            json={"shoeSize": "44", "department": "Astrology"},
            auth=ADMIN,
        )
        assert both.status_code == 406


async def test_a_duplicate_work_email_is_409_and_an_unknown_field_is_406() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        taken = {"firstName": "A", "lastName": "B", "workEmail": "liam.walsh@acmecreative.example"}
        assert (
            await client.post(f"{GATEWAY}/employees", json=taken, auth=ADMIN)
        ).status_code == 409
        odd = await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}", json={"shoeSize": "44"}, auth=ADMIN
        )
        assert odd.status_code == 406


async def test_changed_since_parses_the_sheets_formats_and_rejects_a_decoded_plus() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        url = f"{GATEWAY}/employees/changed"
        for since in (
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00+00:00",
            "2025-01-01T00:00:00+0000",
        ):
            answer = await client.get(url, params={"since": since}, auth=ADMIN, headers=JSON)
            assert answer.status_code == 200, since
            assert set(answer.json()["employees"]) == {"140"}
        # An unencoded "+" reaches the server as a space: BambooHR answers 400.
        raw_plus = await client.get(f"{url}?since=2025-01-01T00:00:00+00:00", auth=ADMIN)
        assert raw_plus.status_code == 400
        assert (await client.get(url, auth=ADMIN)).status_code == 400


async def test_changed_since_reports_inserted_updated_and_deleted_keyed_by_id() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        since = (await client.get("/_sandbox/clock")).json()["now"][:19] + "Z"
        await client.post("/_sandbox/clock", json={"advance_seconds": 5})
        hired = await client.post(
            "/_sandbox/actions/hire", json={"firstName": "Ada", "lastName": "Byron"}
        )
        new_id = hired.json()["id"]
        await client.post(
            "/_sandbox/actions/change_job_title", json={"employeeId": "109", "jobTitle": "Designer"}
        )
        assert (await client.delete(f"{GATEWAY}/employees/110", auth=ADMIN)).status_code == 204
        answer = await client.get(
            f"{GATEWAY}/employees/changed", params={"since": since}, auth=ADMIN, headers=JSON
        )
        body = answer.json()
        actions = {k: v["action"] for k, v in body["employees"].items()}
        assert actions == {new_id: "Inserted", "109": "Updated", "110": "Deleted"}
        assert body["latest"] == max(v["lastChanged"] for v in body["employees"].values())
        only_deleted = await client.get(
            f"{GATEWAY}/employees/changed",
            params={"since": since, "type": "deleted"},
            auth=ADMIN,
            headers=JSON,
        )
        assert set(only_deleted.json()["employees"]) == {"110"}


async def test_a_terminated_status_row_sets_status_termination_date_and_history_status() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        today = (await client.get("/_sandbox/clock")).json()["now"][:10]
        row = {
            "date": today,
            "employmentStatus": "Terminated",
            "terminationTypeId": "431301",
            "terminationReasonId": "431401",
            "terminationRehireId": "431503",
        }
        added = await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}/tables/employmentStatus", json=row, auth=ADMIN
        )
        assert (added.status_code, added.content) == (200, b"")
        values = await _get(
            client, ACTIVE_EMPLOYEE, "status,employmentHistoryStatus,terminationDate"
        )
        assert values == {
            "id": ACTIVE_EMPLOYEE,
            "status": "Inactive",
            "employmentHistoryStatus": "Terminated",
            "terminationDate": today,
        }


async def test_the_rehire_action_makes_a_leaver_active_again_with_a_new_hire_date() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        terminated = await client.post(
            "/_sandbox/actions/terminate", json={"employeeId": ACTIVE_EMPLOYEE}
        )
        assert terminated.status_code == 200, terminated.text
        rehired = await client.post(
            "/_sandbox/actions/rehire", json={"employeeId": ACTIVE_EMPLOYEE}
        )
        assert rehired.status_code == 200, rehired.text
        values = await _get(client, ACTIVE_EMPLOYEE, "status,employmentHistoryStatus,hireDate")
        today = (await client.get("/_sandbox/clock")).json()["now"][:10]
        assert values == {
            "id": ACTIVE_EMPLOYEE,
            "status": "Active",
            "employmentHistoryStatus": "Full-Time",
            "hireDate": today,
        }
        refused = await client.post(
            "/_sandbox/actions/rehire",
            json={"employeeId": ACTIVE_EMPLOYEE, "employmentStatus": "Terminated"},
        )
        assert refused.status_code == 400


async def test_a_termination_without_its_three_ids_is_refused() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        answer = await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}/tables/employmentStatus",
            json={"date": "2026-01-01", "employmentStatus": "Terminated"},
            auth=ADMIN,
        )
        assert answer.status_code == 400
        invalid = await client.post(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}/tables/employmentStatus",
            json={"date": "2026-01-01", "employmentStatus": "Sabbatical"},
            auth=ADMIN,
        )
        assert invalid.status_code == 406


async def test_a_future_dated_job_row_takes_effect_when_the_clock_reaches_its_date() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        await client.post(
            "/_sandbox/actions/change_department",
            json={"employeeId": ACTIVE_EMPLOYEE, "department": "Strategy", "date": "2099-01-01"},
        )
        assert (await _get(client, ACTIVE_EMPLOYEE, "department"))["department"] == "Creative"
        future = await client.get(
            f"{GATEWAY}/employees/{ACTIVE_EMPLOYEE}",
            params={"fields": "department", "onlyCurrent": "false"},
            auth=ADMIN,
            headers=JSON,
        )
        assert future.json()["department"] == "Strategy"
        now = (await client.get("/_sandbox/clock")).json()["now"]
        years = 2099 - int(now[:4])
        await client.post("/_sandbox/clock", json={"advance_seconds": years * 366 * 86400})
        assert (await _get(client, ACTIVE_EMPLOYEE, "department"))["department"] == "Strategy"


async def test_tables_list_rows_per_employee_or_for_all_and_row_updates_answer_empty() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        rows = (
            await client.get(f"{GATEWAY}/employees/109/tables/jobInfo", auth=ADMIN, headers=JSON)
        ).json()
        assert [r["jobTitle"] for r in sorted(rows, key=lambda r: r["date"])] == [
            "Designer",
            "Art Director",
        ]
        assert set(rows[0]) >= {"id", "employeeId", "date", "department", "division", "jobTitle"}
        everyone = (
            await client.get(f"{GATEWAY}/employees/all/tables/jobInfo", auth=ADMIN, headers=JSON)
        ).json()
        assert len(everyone) == 42
        status_rows = (
            await client.get(
                f"{GATEWAY}/employees/109/tables/employmentStatus", auth=ADMIN, headers=JSON
            )
        ).json()
        row_id = status_rows[0]["id"]
        changed = await client.post(
            f"/api/gateway.php/acme/v1_1/employees/109/tables/employmentStatus/{row_id}",
            json={"comment": "updated"},
            auth=ADMIN,
        )
        assert (changed.status_code, changed.content) == (200, b"")
        unknown = await client.get(f"{GATEWAY}/employees/109/tables/benefits", auth=ADMIN)
        assert unknown.status_code == 404


async def test_changed_tables_return_every_row_of_changed_employees() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        since = (await client.get("/_sandbox/clock")).json()["now"][:19] + "Z"
        await client.post("/_sandbox/clock", json={"advance_seconds": 5})
        await client.post(
            "/_sandbox/actions/change_job_title", json={"employeeId": "109", "jobTitle": "Designer"}
        )
        answer = await client.get(
            f"{GATEWAY}/employees/changed/tables/jobInfo",
            params={"since": since},
            auth=ADMIN,
            headers=JSON,
        )
        body = answer.json()
        assert body["table"] == "jobInfo"
        assert list(body["employees"]) == ["109"]
        assert len(body["employees"]["109"]["rows"]) == 3


async def test_the_cursor_list_is_oauth_only() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        assert (await client.get(f"{GATEWAY}/employees", auth=ADMIN)).status_code == 401
