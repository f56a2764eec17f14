"""Reports and list metadata, written from sheet sections 9 and 10."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from sandboxes.bamboohr.app import BambooHRSandbox
from tests.sandboxes.bamboohr.bamboo_helpers import ADMIN, GATEWAY, JSON, MANAGER, SUBDOMAIN
from tests.sandboxes.sandbox_harness import run_in_process as in_process_client

REPORT = {"title": "sync", "fields": ["id", "firstName", "workEmail", "status", "department"]}


async def test_a_custom_report_includes_active_and_inactive_people() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        answer = await client.post(
            f"{GATEWAY}/reports/custom", params={"format": "JSON"}, json=REPORT, auth=ADMIN
        )
        body = answer.json()
        assert body["title"] == "sync"
        assert [f["id"] for f in body["fields"]] == [
            "firstName",
            "workEmail",
            "status",
            "department",
        ]
        assert len(body["employees"]) == 40
        assert {e["status"] for e in body["employees"]} == {"Active", "Inactive"}


async def test_a_charset_on_the_content_type_makes_the_body_xml_and_so_malformed() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        answer = await client.post(
            f"{GATEWAY}/reports/custom?format=JSON",
            content=b'{"title": "sync", "fields": ["firstName"]}',
            headers={"Content-Type": "application/json; charset=utf-8"},
            auth=ADMIN,
        )
        assert answer.status_code == 400
        assert answer.headers["x-bamboohr-error-message"] == "Malformed XML"


async def test_an_unsupported_format_is_404_and_xml_report_bodies_are_accepted() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        bad = await client.post(f"{GATEWAY}/reports/custom?format=DOCX", json=REPORT, auth=ADMIN)
        assert bad.status_code == 404
        xml = (
            '<report output="json"><title>x</title><filters>'
            '<lastChanged includeNull="no">2025-01-01T00:00:00Z</lastChanged></filters>'
            '<fields><field id="firstName" /><field id="status" /></fields></report>'
        )
        answer = await client.post(f"{GATEWAY}/reports/custom?format=json", content=xml, auth=ADMIN)
        assert answer.json()["employees"] == [
            {"id": "140", "firstName": "Ryan", "status": "Inactive"}
        ]


async def test_forbidden_fields_are_dropped_from_reports_silently() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        answer = await client.post(
            f"{GATEWAY}/reports/custom?format=JSON",
            json={"title": "t", "fields": ["firstName", "payRate"]},
            auth=MANAGER,
        )
        body = answer.json()
        assert [f["id"] for f in body["fields"]] == ["firstName"]
        assert len(body["employees"]) == 9  # the manager's key sees the Creative department


async def test_saved_reports_page_with_default_500_max_1000_and_clamping() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        listing = (await client.get(f"{GATEWAY}/custom-reports", auth=ADMIN)).json()
        assert [r["name"] for r in listing["reports"]] == ["People sync", "Directory export"]
        first = (
            await client.get(f"{GATEWAY}/custom-reports/1", params={"page_size": 15}, auth=ADMIN)
        ).json()
        assert len(first["data"]) == 15
        assert first["pagination"]["total_records"] == 40
        assert first["pagination"]["total_pages"] == 3
        assert "page=2" in first["pagination"]["next_page"]
        clamped = (
            await client.get(
                f"{GATEWAY}/custom-reports/1", params={"page": 9, "page_size": 15}, auth=ADMIN
            )
        ).json()
        assert clamped["pagination"]["current_page"] == 3
        assert clamped["pagination"]["next_page"] is None
        assert len(clamped["data"]) == 10
        whole = (await client.get(f"{GATEWAY}/custom-reports/1", auth=ADMIN)).json()
        assert len(whole["data"]) == 40
        assert (await client.get(f"{GATEWAY}/custom-reports/99", auth=ADMIN)).status_code == 404


async def test_meta_lists_carry_department_and_division_options_with_archived_flags() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        lists = (await client.get(f"{GATEWAY}/meta/lists", auth=ADMIN, headers=JSON)).json()
        by_alias = {f.get("alias"): f for f in lists}
        departments = {o["name"]: o["archived"] for o in by_alias["department"]["options"]}
        assert departments["Creative"] == "no"
        assert departments["Events"] == "yes"
        assert {o["name"] for o in by_alias["division"]["options"]} == {"North America", "Europe"}
        assert set(lists[0]) >= {"fieldId", "alias", "name", "manageable", "multiple", "options"}


async def test_a_list_option_added_through_the_api_becomes_a_valid_value() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        added = await client.put(
            f"{GATEWAY}/meta/lists/4", json={"options": [{"value": "Research"}]}, auth=ADMIN
        )
        assert added.status_code == 200
        assert added.headers["content-type"].startswith("text/xml")
        assert ">Research</option>" in added.text
        moved = await client.post(
            f"{GATEWAY}/employees/108", json={"department": "Research"}, auth=ADMIN
        )
        assert moved.status_code == 200
        again = await client.put(
            f"{GATEWAY}/meta/lists/4", json={"options": [{"value": "Research"}]}, auth=ADMIN
        )
        assert again.status_code == 409


async def test_the_ui_action_adds_a_list_option_by_alias_or_name_and_refuses_a_taken_one() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        added = await client.post(
            "/_sandbox/actions/add_list_option", json={"list": "jobTitle", "option": "Producer"}
        )
        assert added.status_code == 200, added.text
        assert (await _options(client, "jobTitle"))["Producer"]["archived"] == "no"
        by_name = await client.post(
            "/_sandbox/actions/add_list_option", json={"list": "Department", "option": "Bids"}
        )
        assert by_name.status_code == 200, by_name.text
        assert "Bids" in await _options(client, "department")
        taken = await client.post(
            "/_sandbox/actions/add_list_option", json={"list": "jobTitle", "option": "Producer"}
        )
        assert taken.status_code == 409
        unknown = await client.post(
            "/_sandbox/actions/add_list_option", json={"list": "Shoe size", "option": "42"}
        )
        assert unknown.status_code == 404
        empty = await client.post("/_sandbox/actions/add_list_option", json={"list": "jobTitle"})
        assert empty.status_code == 400


async def _options(client: httpx.AsyncClient, alias: str) -> dict[str, dict[str, object]]:
    lists = (await client.get(f"{GATEWAY}/meta/lists", auth=ADMIN, headers=JSON)).json()
    field = next(f for f in lists if f.get("alias") == alias)
    return {str(o["name"]): o for o in field["options"]}


async def test_put_meta_lists_adds_renames_archives_and_restores_visible_at_once() -> None:
    # SPEC update-list-field-values: no id = create; id + value = rename; archived yes|no.
    async with in_process_client(BambooHRSandbox()) as client:
        added = await client.put(
            f"{GATEWAY}/meta/lists/17", json={"options": [{"value": "Art Lead"}]}, auth=ADMIN
        )
        assert added.status_code == 200
        art_lead = (await _options(client, "jobTitle"))["Art Lead"]
        assert art_lead["archived"] == "no"
        new_id = art_lead["id"]
        every_id = [
            o["id"]
            for f in (await client.get(f"{GATEWAY}/meta/lists", auth=ADMIN, headers=JSON)).json()
            for o in f["options"]
        ]
        assert every_id.count(new_id) == 1  # option ids are unique in the company

        renamed = await client.put(
            f"{GATEWAY}/meta/lists/17",
            json={"options": [{"id": new_id, "value": "Art Director Lead"}]},
            auth=ADMIN,
        )
        assert renamed.status_code == 200
        titles = await _options(client, "jobTitle")
        assert "Art Lead" not in titles
        assert titles["Art Director Lead"]["id"] == new_id

        archived = await client.put(
            f"{GATEWAY}/meta/lists/17",
            json={"options": [{"id": new_id, "archived": "yes"}]},
            auth=ADMIN,
        )
        assert archived.status_code == 200
        assert f'id="{new_id}" archived="yes"' in archived.text  # the whole list, as XML
        gone = (await _options(client, "jobTitle"))["Art Director Lead"]
        assert (gone["archived"], gone["archivedDate"] is not None) == ("yes", True)
        refused = await client.post(
            f"{GATEWAY}/employees/108", json={"jobTitle": "Art Director Lead"}, auth=ADMIN
        )
        assert refused.status_code == 409  # archived: no longer a value to give anyone

        restored = await client.put(
            f"{GATEWAY}/meta/lists/17",
            json={"options": [{"id": str(new_id), "archived": "no"}]},
            auth=ADMIN,
        )
        assert restored.status_code == 200
        back = (await _options(client, "jobTitle"))["Art Director Lead"]
        assert (back["archived"], back["archivedDate"]) == ("no", None)


async def test_put_meta_lists_refusals_change_nothing() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        before = await _options(client, "department")
        cases = [
            ("/meta/lists/999", {"options": [{"value": "X"}]}, 404),
            ("/meta/lists/4", {"options": [{"id": 999999, "archived": "yes"}]}, 404),
            ("/meta/lists/4", {"options": [{"value": "Creative"}]}, 409),
            ("/meta/lists/4", {"options": [{"value": "Events"}]}, 409),  # archived still holds it
            ("/meta/lists/4", {"options": [{"id": 401, "value": "Creative"}]}, 409),  # a rename
            ("/meta/lists/4", {"options": [{"archived": "no"}]}, 400),
            ("/meta/lists/4", {"values": []}, 400),
            # All or nothing: the first option is valid, the second is a duplicate.
            ("/meta/lists/4", {"options": [{"value": "Research"}, {"value": "Strategy"}]}, 409),
        ]
        for path, body, status in cases:
            answer = await client.put(f"{GATEWAY}{path}", json=body, auth=ADMIN)
            assert answer.status_code == status, (path, body, answer.status_code)
        assert await _options(client, "department") == before


async def test_put_meta_lists_needs_the_field_write_scope_under_oauth() -> None:
    async with in_process_client(BambooHRSandbox()) as client:
        token = await _oauth_token(client, "openid employee field")
        bearer = {"Authorization": f"Bearer {token}", **JSON}
        read = await client.get(f"{SUBDOMAIN}/meta/lists", headers=bearer)
        assert read.status_code == 200
        body = {"options": [{"value": "Research"}]}
        refused = await client.put(f"{SUBDOMAIN}/meta/lists/4", json=body, headers=bearer)
        assert refused.status_code == 403
        writer = await _oauth_token(client, "openid field field.write")
        allowed = await client.put(
            f"{SUBDOMAIN}/meta/lists/4", json=body, headers={"Authorization": f"Bearer {writer}"}
        )
        assert allowed.status_code == 200
        assert "Research" in await _options(client, "department")


async def _oauth_token(client: httpx.AsyncClient, scope: str) -> str:
    creds = (await client.post("/_sandbox/credentials")).json()
    consent = await client.get(
        "/acme.bamboohr.com/authorize.php",
        params={
            "request": "authorize",
            "response_type": "code",
            "client_id": creds["client_id"],
            "redirect_uri": creds["redirect_uri"],
            "state": "s",
            "scope": scope,
        },
    )
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    answer = await client.post(
        "/acme.bamboohr.com/token.php",
        params={"request": "token"},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "redirect_uri": creds["redirect_uri"],
        },
    )
    token: str = answer.json()["access_token"]
    return token
