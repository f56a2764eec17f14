"""Organization scoping, envelopes, contacts and contact persons, from sheet sections 3-8."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from sandboxes.zoho.app import ZohoSandbox
from sandboxes.zoho.settings import ZohoSandboxSettings
from tests.sandboxes.sandbox_harness import Connector, run_in_process
from tests.sandboxes.zoho.zoho_helpers import FOREIGN_ORG, LIAM, Session, sign_in

TIMESTAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$"


async def _create(client: httpx.AsyncClient, s: Session, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{s.base}/contacts", params=s.org, headers=s.headers, json=body)


async def test_every_call_but_organizations_needs_the_organization_id(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        orgs = await client.get(f"{s.base}/organizations", headers=s.headers)
        assert orgs.json()["code"] == 0
        assert "page_context" not in orgs.json()
        missing = await client.get(f"{s.base}/contacts", headers=s.headers)
        assert missing.status_code == 400
        assert missing.json()["code"] == 6041
        foreign = await client.get(
            f"{s.base}/contacts", params={"organization_id": FOREIGN_ORG}, headers=s.headers
        )
        assert foreign.status_code == 400
        assert foreign.json() == {
            "code": 6041,
            "message": f"This user is not associated with the CompanyID/CompanyName:{FOREIGN_ORG}.",
        }


async def test_the_missing_organization_answer_is_a_setting() -> None:
    settings = ZohoSandboxSettings(missing_org_status=401, missing_org_code=57)
    async with run_in_process(ZohoSandbox(settings=settings)) as client:
        s = await sign_in(client)
        missing = await client.get(f"{s.base}/contacts", headers=s.headers)
        assert (missing.status_code, missing.json()["code"]) == (401, 57)


async def test_create_answers_201_with_the_envelope_and_a_location(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        answer = await _create(
            client,
            s,
            {
                "contact_name": "Acme Parts GmbH",
                "company_name": "Acme Parts GmbH",
                "contact_type": "vendor",
                "contact_persons": [
                    {
                        "first_name": "Ana",
                        "last_name": "Lopez",
                        "email": "ana@acme.example",
                        "designation": "AP Lead",
                        "department": "Finance",
                        "is_primary_contact": True,
                    }
                ],
                "custom_fields": [{"index": 1, "value": "EXT-1042"}],
            },
        )
        assert answer.status_code == 201
        assert answer.headers["content-type"] == "application/json;charset=UTF-8"
        body = answer.json()
        assert (body["code"], body["message"]) == (0, "The contact has been added.")
        contact = body["contact"]
        assert answer.headers["location"] == f"/api/v3/contacts/{contact['contact_id']}"
        assert contact["contact_id"].isdigit()
        assert len(contact["contact_id"]) >= 15
        assert contact["status"] == "active"
        assert contact["contact_type"] == "vendor"
        assert contact["email"] == "ana@acme.example"  # the primary person's
        person = contact["contact_persons"][0]
        assert person["is_primary_contact"] is True
        assert contact["primary_contact_id"] == person["contact_person_id"]
        assert contact["custom_fields"][0]["label"] == "Employee ID"
        assert contact["custom_field_hash"]["cf_employee_id"] == "EXT-1042"
        assert re.match(TIMESTAMP, contact["created_time"])


async def test_a_contact_needs_a_name_and_names_are_unique(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        nameless = await _create(client, s, {"company_name": "No Name"})
        assert nameless.status_code == 400
        assert nameless.json()["code"] != 0
        twice = await _create(client, s, {"contact_name": "Northwind Retail Group"})
        assert (twice.status_code, twice.json()["code"]) == (400, 3062)
        too_long = await _create(client, s, {"contact_name": "x" * 201})
        assert too_long.json() == {"code": 2, "message": "Invalid value passed for contact_name"}


async def test_form_bodies_use_the_jsonstring_field_and_bad_json_is_code_1038(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        form = await client.post(
            f"{s.base}/contacts",
            params=s.org,
            headers=s.headers,
            data={"JSONString": json.dumps({"contact_name": "Form Client Ltd"})},
        )
        assert form.status_code == 201
        pairs = await client.post(
            f"{s.base}/contacts", params=s.org, headers=s.headers, data={"contact_name": "Pairs"}
        )
        assert (pairs.status_code, pairs.json()["code"]) == (400, 1038)
        broken = await client.post(
            f"{s.base}/contacts",
            params=s.org,
            headers={**s.headers, "Content-Type": "application/json"},
            content=b"{nope",
        )
        assert broken.json() == {"code": 1038, "message": "JSON is not well formed"}


async def test_an_unknown_contact_is_code_1002(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        answer = await client.get(f"{s.base}/contacts/1234", params=s.org, headers=s.headers)
        assert answer.status_code == 404
        assert answer.json() == {"code": 1002, "message": "Contact does not exist."}


async def test_update_replaces_contact_persons_and_keeps_omitted_fields(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        created = (
            await _create(
                client,
                s,
                {
                    "contact_name": "Two People Ltd",
                    "notes": "keep me",
                    "contact_persons": [
                        {"first_name": "Ann", "email": "ann@two.example"},
                        {"first_name": "Bob", "email": "bob@two.example"},
                    ],
                },
            )
        ).json()["contact"]
        ann, bob = created["contact_persons"]
        assert ann["is_primary_contact"] is True
        updated = await client.put(
            f"{s.base}/contacts/{created['contact_id']}",
            params=s.org,
            headers=s.headers,
            json={
                "contact_persons": [
                    {"contact_person_id": bob["contact_person_id"], "last_name": "Stone"},
                    {"first_name": "Cat", "email": "cat@two.example"},
                ]
            },
        )
        assert updated.status_code == 200
        body = updated.json()
        assert body["message"] == "Contact information has been saved."
        persons = body["contact"]["contact_persons"]
        assert [p["first_name"] for p in persons] == ["Bob", "Cat"]
        assert persons[0]["last_name"] == "Stone"
        assert persons[0]["contact_person_id"] == bob["contact_person_id"]
        assert body["contact"]["notes"] == "keep me"
        assert body["contact"]["email"] == "bob@two.example"


async def test_mark_inactive_and_active_and_the_status_filters(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        liam = (
            await client.get(
                f"{s.base}/contacts", params={**s.org, "email": LIAM}, headers=s.headers
            )
        ).json()["contacts"][0]
        url = f"{s.base}/contacts/{liam['contact_id']}"
        off = await client.post(f"{url}/inactive", params=s.org, headers=s.headers)
        assert off.json() == {"code": 0, "message": "The contact has been marked as inactive."}

        async def names(filter_by: str) -> set[str]:
            answer = await client.get(
                f"{s.base}/contacts", headers=s.headers, params={**s.org, "filter_by": filter_by}
            )
            assert answer.json()["page_context"]["applied_filter"] == filter_by
            return {c["contact_name"] for c in answer.json()["contacts"]}

        assert {"Liam Walsh", "Henry Schmidt"} <= await names("Status.Inactive")
        assert "Liam Walsh" not in await names("Status.Active")
        on = await client.post(f"{url}/active", params=s.org, headers=s.headers)
        assert on.json()["message"] == "The contact has been marked as active."
        assert "Liam Walsh" in await names("Status.Active")
        bad = await client.get(
            f"{s.base}/contacts",
            headers=s.headers,
            params={**s.org, "filter_by": "Status.Sleeping"},
        )
        assert bad.json() == {"code": 2, "message": "Invalid value passed for filter_by"}


async def test_email_search_matches_contact_person_emails_exactly_or_by_part(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)

        async def search(**params: str) -> list[dict[str, Any]]:
            answer = await client.get(
                f"{s.base}/contacts", params={**s.org, **params}, headers=s.headers
            )
            contacts: list[dict[str, Any]] = answer.json()["contacts"]
            return contacts

        exact = await search(email=LIAM.upper())
        assert [c["contact_name"] for c in exact] == ["Liam Walsh"]
        assert exact[0]["email"] == LIAM
        assert "contact_persons" not in exact[0]  # list rows are summaries
        assert len(await search(email_contains="@acmecreative.example")) == 8
        assert [c["contact_name"] for c in await search(email_startswith="liam.")] == ["Liam Walsh"]
        assert await search(email="nobody@acmecreative.example") == []
        vendors = await search(contact_type="vendor", company_name_contains="Acme")
        assert len(vendors) == 8
        assert {c["contact_name"] for c in await search(search_text="synced from")} >= {
            "Liam Walsh"
        }


async def test_pages_carry_page_context_and_per_page_is_capped_at_200(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        seen: list[str] = []
        page = 1
        while True:
            answer = (
                await client.get(
                    f"{s.base}/contacts",
                    headers=s.headers,
                    params={
                        **s.org,
                        "page": page,
                        "per_page": 4,
                        "sort_column": "created_time",
                        "sort_order": "D",
                    },
                )
            ).json()
            context = answer["page_context"]
            assert (context["page"], context["per_page"]) == (page, 4)
            assert (context["sort_column"], context["sort_order"]) == ("created_time", "D")
            assert context["report_name"] == "Contacts"
            seen += [c["contact_id"] for c in answer["contacts"]]
            if not context["has_more_page"]:
                break
            page += 1
        assert page == 4
        assert len(seen) == len(set(seen)) == 15
        default = (
            await client.get(
                f"{s.base}/contacts", params={**s.org, "per_page": 500}, headers=s.headers
            )
        ).json()["page_context"]
        assert default["per_page"] == 200
        assert (default["sort_column"], default["sort_order"]) == ("contact_name", "A")


async def test_contact_person_endpoints_create_update_primary_and_delete(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        contact = (await _create(client, s, {"contact_name": "People Co"})).json()["contact"]
        persons = f"{s.base}/contacts/contactpersons"
        first = await client.post(
            persons,
            params=s.org,
            headers=s.headers,
            json={
                "contact_id": contact["contact_id"],
                "first_name": "Zed",
                "email": "zed@people.example",
            },
        )
        assert first.status_code == 201
        assert first.json()["message"] == "The contactperson has been Created"
        second = (
            await client.post(
                persons,
                params=s.org,
                headers=s.headers,
                json={"contact_id": contact["contact_id"], "first_name": "Amy"},
            )
        ).json()["contact_person"]
        nameless = await client.post(
            persons, params=s.org, headers=s.headers, json={"contact_id": contact["contact_id"]}
        )
        assert nameless.status_code == 400
        primary = await client.post(
            f"{persons}/{second['contact_person_id']}/primary", params=s.org, headers=s.headers
        )
        assert primary.json()["code"] == 0
        listed = (
            await client.get(
                f"{s.base}/contacts/{contact['contact_id']}/contactpersons",
                params=s.org,
                headers=s.headers,
            )
        ).json()
        flags = {p["first_name"]: p["is_primary_contact"] for p in listed["contact_persons"]}
        assert flags == {"Zed": False, "Amy": True}
        assert "page_context" in listed
        edited = await client.put(
            f"{persons}/{second['contact_person_id']}",
            params=s.org,
            headers=s.headers,
            json={"designation": "Owner"},
        )
        assert edited.json()["contact_person"]["designation"] == "Owner"
        gone = await client.delete(
            f"{persons}/{second['contact_person_id']}", params=s.org, headers=s.headers
        )
        assert gone.json() == {"code": 0, "message": "The contact person has been deleted."}
        after = (
            await client.get(
                f"{s.base}/contacts/{contact['contact_id']}", params=s.org, headers=s.headers
            )
        ).json()["contact"]
        assert [p["first_name"] for p in after["contact_persons"]] == ["Zed"]
        assert after["contact_persons"][0]["is_primary_contact"] is True


async def test_unique_custom_field_update_and_upsert(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        key = {"X-Unique-Identifier-Key": "cf_employee_id"}
        found = await client.put(
            f"{s.base}/contacts",
            params=s.org,
            json={"notes": "matched by id"},
            headers={**s.headers, **key, "X-Unique-Identifier-Value": "E-022"},
        )
        assert found.status_code == 200
        assert found.json()["contact"]["contact_name"] == "Liam Walsh"
        assert found.json()["contact"]["notes"] == "matched by id"
        absent = {**s.headers, **key, "X-Unique-Identifier-Value": "E-999"}
        no_upsert = await client.put(
            f"{s.base}/contacts", params=s.org, headers=absent, json={"contact_name": "New Hire"}
        )
        assert no_upsert.json()["code"] == 1002
        upsert = await client.put(
            f"{s.base}/contacts",
            params=s.org,
            headers={**absent, "X-Upsert": "true"},
            json={"contact_name": "New Hire"},
        )
        assert upsert.status_code == 201
        assert upsert.json()["contact"]["custom_field_hash"]["cf_employee_id"] == "E-999"


async def test_delete_answers_with_the_contact_type_in_the_message(connect: Connector) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        contact = (await _create(client, s, {"contact_name": "Short Lived"})).json()["contact"]
        url = f"{s.base}/contacts/{contact['contact_id']}"
        gone = await client.delete(url, params=s.org, headers=s.headers)
        assert gone.json() == {"code": 0, "message": "The customer has been deleted."}
        assert (await client.get(url, params=s.org, headers=s.headers)).json()["code"] == 1002


async def test_reporting_tags_are_the_department_and_job_title_option_lists(
    connect: Connector,
) -> None:
    async with connect(ZohoSandbox()) as client:
        s = await sign_in(client)
        tags = (
            await client.get(f"{s.base}/reportingtags", params=s.org, headers=s.headers)
        ).json()["reporting_tags"]
        by_name = {t["tag_name"]: t["tag_id"] for t in tags}
        assert set(by_name) == {"Department", "Job Title"}
        url = f"{s.base}/reportingtags/{by_name['Department']}"
        tag = (await client.get(url, params=s.org, headers=s.headers)).json()["reporting_tag"]
        options = tag["tag_options"]
        assert "People" not in {o["tag_option_name"] for o in options}
        updated = await client.put(
            f"{url}/options",
            params=s.org,
            headers=s.headers,
            json={"tag_options": [*options, {"tag_option_name": "People"}]},
        )
        names = [o["tag_option_name"] for o in updated.json()["reporting_tag"]["tag_options"]]
        assert names[-1] == "People"
        assert len(names) == len(options) + 1
        liam = (
            await client.get(
                f"{s.base}/contacts", params={**s.org, "email": LIAM}, headers=s.headers
            )
        ).json()["contacts"][0]
        assert {t["tag_name"]: t["tag_option_name"] for t in liam["tags"]} == {
            "Department": "Creative",
            "Job Title": "Designer",
        }


async def test_an_empty_sandbox_keeps_the_account_but_no_contacts(connect: Connector) -> None:
    async with connect(ZohoSandbox(empty=True)) as client:
        s = await sign_in(client)
        listed = await client.get(f"{s.base}/contacts", params=s.org, headers=s.headers)
        assert listed.json()["contacts"] == []
        assert listed.json()["page_context"]["has_more_page"] is False
        tags = await client.get(f"{s.base}/reportingtags", params=s.org, headers=s.headers)
        assert tags.json()["reporting_tags"] == []
