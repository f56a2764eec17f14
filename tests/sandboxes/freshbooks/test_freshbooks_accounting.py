"""The accounting family, written from sheet sections 1, 4, 5, 6 and 7: envelope, paging,
search, includes, errors, soft delete and time formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.kit import SandboxClock
from tests.sandboxes.freshbooks.fb_helpers import ACCOUNTING, bearer
from tests.sandboxes.sandbox_harness import Connector

EXPENSES = f"{ACCOUNTING}/expenses/expenses"
NEW_EXPENSE = {
    "amount": {"amount": "84.20", "code": "USD"},
    "categoryid": "3026",
    "staffid": 2,
    "date": "2026-03-02",
    "vendor": "Air Canada",
    "notes": "EXP-R123 / tx 6720309558248016",
}


def _result(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"response"}
    assert set(body["response"]) == {"result"}
    result: dict[str, Any] = body["response"]["result"]
    return result


async def test_a_list_is_wrapped_in_response_result_with_its_paging_fields(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        result = _result(await client.get(EXPENSES, headers=headers))
        assert set(result) == {"expenses", "page", "pages", "per_page", "total"}
        assert (result["page"], result["per_page"], result["total"], result["pages"]) == (
            1,
            15,
            6,
            1,
        )
        expense = result["expenses"][0]
        assert expense["id"] == expense["expenseid"]
        assert expense["amount"] == {"amount": "412.60", "code": "USD"}


async def test_paging_caps_per_page_at_100_reads_page_0_as_1_and_is_empty_past_the_end(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        capped = _result(await client.get(EXPENSES, params={"per_page": 500}, headers=headers))
        assert capped["per_page"] == 100
        second = _result(
            await client.get(EXPENSES, params={"per_page": 4, "page": 2}, headers=headers)
        )
        assert (second["page"], second["pages"], len(second["expenses"])) == (2, 2, 2)
        zero = _result(
            await client.get(EXPENSES, params={"per_page": 4, "page": 0}, headers=headers)
        )
        assert zero["page"] == 1
        past = _result(
            await client.get(EXPENSES, params={"per_page": 4, "page": 9}, headers=headers)
        )
        assert past["expenses"] == []
        assert past["total"] == 6
        bad = await client.get(EXPENSES, params={"page": "two"}, headers=headers)
        assert bad.status_code == 400
        assert bad.json()["response"]["errors"][0]["errno"] == 1014


async def test_an_empty_list_has_zero_pages(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        result = _result(
            await client.get(EXPENSES, params={"search[vendor]": "nobody"}, headers=headers)
        )
        assert (result["total"], result["pages"], result["expenses"]) == (0, 0, [])


async def test_search_filters_equal_in_like_and_between_with_encoded_or_raw_brackets(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)

        async def ids(query: str) -> list[int]:
            result = _result(await client.get(f"{EXPENSES}?{query}", headers=headers))
            return sorted(e["id"] for e in result["expenses"])

        assert await ids("search%5Bstaffid%5D=3") == [402]
        assert await ids("search[staffids][]=3&search[staffids][]=8") == [402, 403]
        assert await ids("search%5Bvendor_like%5D=lyf") == [404]
        assert await ids("search[date_min]=2026-02-15&search[date_max]=2026-02-20") == [
            403,
            404,
            405,
        ]
        assert await ids("search[amount_min]=100") == [401, 405, 406]
        assert await ids("search[updated_min]=2026-02-18") == [404, 405, 406]
        assert await ids("search[expenseids][]=401&search[expenseids][]=406") == [401, 406]
        categories = _result(
            await client.get(f"{ACCOUNTING}/expenses/categories?search[name]=air", headers=headers)
        )
        assert [c["category"] for c in categories["categories"]] == ["Airfare"]


async def test_include_embeds_the_category_and_sort_orders_the_list(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        result = _result(
            await client.get(
                f"{EXPENSES}?include[]=category&sort=amount_desc&per_page=2", headers=headers
            )
        )
        assert [e["id"] for e in result["expenses"]] == [406, 401]
        assert result["expenses"][0]["category"]["category"] == "Hotel/Lodging/Accommodation"


async def test_creating_an_expense_answers_the_record_with_its_legacy_id(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        created = _result(
            await client.post(EXPENSES, json={"expense": NEW_EXPENSE}, headers=headers)
        )
        expense = created["expense"]
        assert expense["expenseid"] == expense["id"]
        assert expense["categoryid"] == 3026  # sent as a string, returned as an int
        assert expense["amount"] == {"amount": "84.20", "code": "USD"}
        assert expense["vis_state"] == 0
        fetched = _result(await client.get(f"{EXPENSES}/{expense['id']}", headers=headers))
        assert fetched["expense"]["notes"] == NEW_EXPENSE["notes"]


async def test_a_missing_required_field_is_errno_1001_in_the_errors_envelope(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        body = {k: v for k, v in NEW_EXPENSE.items() if k != "categoryid"}
        answer = await client.post(EXPENSES, json={"expense": body}, headers=headers)
        assert answer.status_code == 422
        assert answer.json() == {
            "response": {
                "errors": [
                    {
                        "errno": 1001,
                        "field": "categoryid",
                        "message": "Field categoryid is required.",
                        "object": "expense",
                        "value": "",
                    }
                ]
            }
        }
        unknown_staff = await client.post(
            EXPENSES, json={"expense": {**NEW_EXPENSE, "staffid": 999}}, headers=headers
        )
        assert unknown_staff.json()["response"]["errors"][0]["errno"] == 1004


async def test_an_unknown_record_is_errno_1012_and_a_wrong_account_is_404(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        missing = await client.get(f"{EXPENSES}/99999", headers=headers)
        assert missing.status_code == 404
        error = missing.json()["response"]["errors"][0]
        assert (error["errno"], error["object"], error["value"]) == (1012, "expense", "99999")
        wrong = await client.get("/accounting/account/Zz9Zz/expenses/expenses", headers=headers)
        assert wrong.status_code == 404
        assert wrong.json()["response"]["errors"][0]["errno"] == 1012


async def test_a_bad_token_is_401_with_the_auth_body(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        answer = await client.get(EXPENSES, headers={"Authorization": "Bearer not-a-token"})
        assert answer.status_code == 401
        assert answer.json()["error"] == "unauthenticated"
        assert (await client.get(EXPENSES)).status_code == 401


async def test_a_token_without_the_write_scope_gets_errno_1003(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client, scope="user:expenses:read")
        assert (await client.get(EXPENSES, headers=headers)).status_code == 200
        answer = await client.post(EXPENSES, json={"expense": NEW_EXPENSE}, headers=headers)
        assert answer.status_code == 403
        assert answer.json()["response"]["errors"][0]["errno"] == 1003


async def test_vis_state_deletes_softly_and_a_put_with_it_ignores_every_other_field(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        deleted = _result(
            await client.put(
                f"{EXPENSES}/402",
                json={"expense": {"vis_state": 1, "notes": "should be ignored"}},
                headers=headers,
            )
        )["expense"]
        assert deleted["vis_state"] == 1
        assert deleted["notes"] == "Team lunch, Creative"
        listed = _result(await client.get(EXPENSES, headers=headers))
        assert 402 not in [e["id"] for e in listed["expenses"]]
        only_deleted = _result(await client.get(f"{EXPENSES}?search[vis_state]=1", headers=headers))
        assert [e["id"] for e in only_deleted["expenses"]] == [402]
        await client.put(f"{EXPENSES}/403", json={"expense": {"vis_state": 2}}, headers=headers)
        listed = _result(await client.get(EXPENSES, headers=headers))
        assert 403 in [e["id"] for e in listed["expenses"]]  # archived stays listed
        restored = _result(
            await client.put(f"{EXPENSES}/402", json={"expense": {"vis_state": 0}}, headers=headers)
        )
        assert restored["expense"]["vis_state"] == 0


async def test_a_partial_update_changes_only_the_keys_sent(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        updated = _result(
            await client.put(f"{EXPENSES}/404", json={"expense": {"notes": "Q1"}}, headers=headers)
        )["expense"]
        assert (updated["notes"], updated["vendor"], updated["amount"]["amount"]) == (
            "Q1",
            "Lyft",
            "34.75",
        )


async def test_categories_are_read_only_and_staff_cannot_be_created(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        category = await client.post(
            f"{ACCOUNTING}/expenses/categories",
            json={"category": {"category": "X"}},
            headers=headers,
        )
        assert category.status_code == 405
        staff = await client.post(
            f"{ACCOUNTING}/users/staffs", json={"staff": {"email": "a@b.example"}}, headers=headers
        )
        assert staff.status_code == 405
        listed = _result(await client.get(f"{ACCOUNTING}/users/staffs", headers=headers))
        assert "Ryan" not in [s["fname"] for s in listed["staffs"]]  # removed: vis_state 1
        assert listed["staffs"][0]["userid"] == 1


async def test_staff_create_can_be_switched_on_by_a_setting(connect: Connector) -> None:
    settings = FreshBooksSandboxSettings(staff_create_allowed=True)
    async with connect(FreshBooksSandbox(settings=settings)) as client:
        headers = await bearer(client)
        created = _result(
            await client.post(
                f"{ACCOUNTING}/users/staffs",
                json={"staff": {"fname": "Rin", "lname": "Sato", "email": "rin.sato@x.example"}},
                headers=headers,
            )
        )
        assert created["staff"]["userid"] == created["staff"]["id"]


async def test_updated_is_naive_us_eastern_and_bill_vendor_times_are_utc(
    connect: Connector,
) -> None:
    frozen = datetime(2026, 7, 1, 16, 30, 5, tzinfo=UTC)
    async with connect(FreshBooksSandbox(clock=SandboxClock(frozen_at=frozen))) as client:
        headers = await bearer(client)
        expense = _result(
            await client.post(EXPENSES, json={"expense": NEW_EXPENSE}, headers=headers)
        )
        eastern = frozen.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M:%S")
        assert expense["expense"]["updated"] == eastern == "2026-07-01 12:30:05"
        vendor = _result(
            await client.post(
                f"{ACCOUNTING}/bill_vendors/bill_vendors",
                json={"bill_vendor": {"vendor_name": "Figma"}},
                headers=headers,
            )
        )["bill_vendor"]
        assert vendor["created_at"] == vendor["updated_at"] == "2026-07-01 16:30:05"
        assert vendor["vendorid"] == vendor["id"]


async def test_the_ui_action_validates_like_the_api_and_says_why_it_refused(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        unknown = await client.post(
            "/_sandbox/actions/create_expense",
            json={"staffid": 2, "category": "Yachts", "amount": "10.00"},
        )
        assert unknown.status_code == 404
        missing = await client.post(
            "/_sandbox/actions/create_expense", json={"staffid": 2, "category": "Airfare"}
        )
        assert missing.status_code == 422
        assert json.loads(missing.json()["error"])["response"]["errors"][0]["field"] == "amount"
        made = await client.post(
            "/_sandbox/actions/create_expense",
            json={"email": "liam.walsh@acmecreative.example", "category": "Software",
                  "amount": "19.99", "vendor": "Figma"},
        )  # fmt: skip
        assert made.status_code == 200
        assert (made.json()["staffid"], made.json()["categoryid"]) == (8, 3014)
