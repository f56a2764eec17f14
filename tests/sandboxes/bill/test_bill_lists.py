"""BILL list endpoints: `max`/`page` tokens, `filters`, `sort` (fact sheet section 6)."""

from __future__ import annotations

import pytest

from sandboxes.bill.app import BillSandbox
from tests.sandboxes.bill.bill_helpers import API, login, single_error
from tests.sandboxes.sandbox_harness import Connector


async def test_pages_follow_next_page_tokens_until_next_page_is_absent(
    connect: Connector,
) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        seen: list[str] = []
        params: dict[str, str] = {"max": "5"}
        pages = 0
        while True:
            body = (await client.get(f"{API}/vendors", params=params, headers=headers)).json()
            assert set(body) <= {"nextPage", "prevPage", "results"}
            assert ("prevPage" in body) == (pages > 0)
            seen += [v["id"] for v in body["results"]]
            pages += 1
            if "nextPage" not in body:
                break
            params = {"max": "5", "page": body["nextPage"]}
        assert pages == 3
        assert len(seen) == len(set(seen)) == 12
        assert all(vendor_id.startswith("009") for vendor_id in seen)


async def test_max_defaults_to_20(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        body = (
            await client.get(f"{API}/classifications/chart-of-accounts", headers=headers)
        ).json()
        assert len(body["results"]) == 20
        assert "nextPage" not in body


@pytest.mark.parametrize("size", ["0", "101", "many"])
async def test_max_outside_1_to_100_is_refused_with_400(in_process: Connector, size: str) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        answer = await client.get(f"{API}/bills", params={"max": size}, headers=headers)
        assert answer.status_code == 400
        single_error(answer)


async def test_filters_and_sort_combine(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        answer = await client.get(
            f"{API}/bills",
            params={
                "filters": 'amount:gte:1000,paymentStatus:in:"UNPAID,PARTIAL"',
                "sort": "amount:desc",
            },
            headers=headers,
        )
        amounts = [b["amount"] for b in answer.json()["results"]]
        assert amounts == sorted(amounts, reverse=True)
        assert amounts[0] == 8750.0
        assert min(amounts) >= 1000
        names = await client.get(
            f"{API}/vendors",
            params={"filters": 'name:sw:"G"', "sort": "name:asc"},
            headers=headers,
        )
        assert [v["name"] for v in names.json()["results"]] == ["Getty Images", "Google Ads"]


async def test_updated_time_gte_returns_only_what_changed_since(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        since = (await client.get("/_sandbox/clock")).json()["now"][:19]
        changed = await client.patch(
            f"{API}/vendors/00901ADOBEINC00001XX", json={"phone": "4155550100"}, headers=headers
        )
        assert changed.status_code == 200
        answer = await client.get(
            f"{API}/vendors", params={"filters": f'updatedTime:gte:"{since}.000Z"'}, headers=headers
        )
        assert [v["id"] for v in answer.json()["results"]] == ["00901ADOBEINC00001XX"]


async def test_an_unknown_filter_field_or_operator_is_refused(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        for filters in ("color:eq:red", "name:like:Adobe"):
            answer = await client.get(
                f"{API}/vendors", params={"filters": filters}, headers=headers
            )
            assert answer.status_code == 400
            single_error(answer)


async def test_another_organizations_records_are_invisible(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        everything = await client.get(f"{API}/vendors", params={"max": "100"}, headers=headers)
        assert "Other Org Vendor" not in [v["name"] for v in everything.json()["results"]]
        answer = await client.get(f"{API}/vendors/00901OTHERORGVENDORX", headers=headers)
        assert answer.status_code == 404
