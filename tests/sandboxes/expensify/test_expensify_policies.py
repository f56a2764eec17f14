"""Policy list and policy getter (sheet 6, 7), domain cards and the advanced employee updater."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.sandboxes.expensify.exp_helpers import EU, US, job, pair, unlimited
from tests.sandboxes.sandbox_harness import Connector


async def _get(client: httpx.AsyncClient, inputs: dict[str, Any]) -> dict[str, Any]:
    answer = await job(client, {"type": "get", "credentials": await pair(client),
                                "inputSettings": inputs})  # fmt: skip
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def test_the_policy_list_has_the_documented_keys_and_roles(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        body = await _get(client, {"type": "policyList", "adminOnly": True})
        assert body["responseCode"] == 200
        us = next(p for p in body["policyList"] if p["id"] == US)
        assert {"id", "name", "type", "role", "owner", "outputCurrency"} <= set(us)
        assert (us["role"], us["outputCurrency"], us["type"]) == ("admin", "USD", "corporate")


async def test_admin_only_leaves_out_policies_where_the_user_is_not_admin(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        # Isabel is an auditor of the US policy only: same domain, so third-party access holds.
        inputs = {"type": "policyList", "userEmail": "isabel.costa@acmecreative.example"}
        listed = await _get(client, inputs)
        assert [(p["id"], p["role"]) for p in listed["policyList"]] == [(US, "auditor")]
        admin = await _get(client, {**inputs, "adminOnly": True})
        assert admin["policyList"] == []
        other = await _get(client, {"type": "policyList", "userEmail": "x@elsewhere.example"})
        assert other == {"responseMessage": "Not authorized to authenticate as user "
                         "x@elsewhere.example", "responseCode": 500}  # fmt: skip


async def test_the_policy_getter_answers_only_the_asked_fields(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        body = await _get(client, {"type": "policy", "policyIDList": [US], "fields": ["tax"]})
        assert body == {"responseCode": 200, "policyInfo": {US: {"tax": {}}}}


async def test_categories_carry_gl_codes_and_tags_come_in_both_shapes(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        body = await _get(client, {"type": "policy", "policyIDList": [US, EU],
                                   "fields": ["categories", "tags"]})  # fmt: skip
        us, eu = body["policyInfo"][US], body["policyInfo"][EU]
        airfare = next(c for c in us["categories"] if c["name"] == "Airfare")
        assert airfare == {"name": "Airfare", "enabled": True, "areCommentsRequired": False,
                           "glCode": "6110"}  # fmt: skip
        other = next(c for c in us["categories"] if c["name"] == "Other")
        assert "glCode" not in other  # empty codes are left out by default
        assert {"name": "Engineering:R\\:D", "enabled": True, "glCode": "510"} in us["tags"]
        assert [level["name"] for level in eu["tags"]] == ["Department", "Project"]
        projects = eu["tags"][1]["tags"]
        assert {"name": "Globex Rebrand", "enabled": True, "glCode": "P-01"} in projects


async def test_empty_category_codes_can_be_empty_strings(connect: Connector) -> None:
    async with connect(unlimited(category_codes_when_empty="empty_string")) as client:
        body = await _get(client, {"type": "policy", "policyIDList": [US],
                                   "fields": ["categories"]})  # fmt: skip
        other = next(c for c in body["policyInfo"][US]["categories"] if c["name"] == "Other")
        assert (other["glCode"], other["payrollCode"]) == ("", "")


async def test_employees_have_the_recorded_shape(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        body = await _get(client, {"type": "policy", "policyIDList": [US],
                                   "fields": ["employees"]})  # fmt: skip
        employees = body["policyInfo"][US]["employees"]
        daniel = next(e for e in employees if e["email"] == "daniel.okafor@acmecreative.example")
        assert daniel == {"email": "daniel.okafor@acmecreative.example", "role": "user",
                          "submitsTo": "ava.nguyen@acmecreative.example", "forwardsTo": "",
                          "employeeID": "104", "customField1": "104"}  # fmt: skip


async def test_a_missing_policy_id_list_uses_the_manuals_error(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        body = await _get(client, {"type": "policy", "fields": ["tags"]})
        assert body == {"responseMessage": "Required parameter 'policyIDList' is missing",
                        "responseCode": 410}  # fmt: skip


async def test_domain_cards_list_the_corporate_cards(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        body = await _get(client, {"type": "domainCardList", "domain": "acmecreative.example"})
        assert {c["cardID"] for c in body["domainCardList"]} == {"5312342", "5312343", "6234183"}
        assert (await _get(client, {"type": "domainCardList"}))["responseCode"] == 410


async def test_the_advanced_employee_updater_adds_and_removes_members(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        description = {"type": "update", "credentials": await pair(client), "dataSource": "request",
                       "inputSettings": {"type": "employees", "entity": "generic"}}  # fmt: skip
        feed = [
            {"employeeEmail": "new.hire@acmecreative.example", "policyID": US, "employeeID": "150",
             "managerEmail": "ava.nguyen@acmecreative.example", "firstName": "New"},
            {"employeeEmail": "ethan.brooks@acmecreative.example", "policyID": US,
             "employeeID": "114", "managerEmail": "x@y.z", "isTerminated": True},
        ]  # fmt: skip
        answer = (await job(client, description, data=json.dumps(feed))).json()
        assert answer["responseCode"] == 200
        assert answer["updatedEmployeesCount"] == 2
        assert answer["diff"]["diffToAdd"] == {US: ["new.hire@acmecreative.example"]}
        assert answer["policyIDToEmailsToRemoveMap"] == {US: ["ethan.brooks@acmecreative.example"]}
        emails = {e["email"] for e in (await client.get("/_sandbox/state/employees")).json()
                  if e["policyID"] == US}  # fmt: skip
        assert "new.hire@acmecreative.example" in emails
        assert "ethan.brooks@acmecreative.example" not in emails
