"""Bills, bill vendors, bill payments (sheet 7.4-7.6) and ledger accounts (7.7)."""

from __future__ import annotations

from typing import Any

import httpx

from sandboxes.freshbooks.app import FreshBooksSandbox
from tests.sandboxes.freshbooks.fb_helpers import ACCOUNTING, LEDGER, bearer
from tests.sandboxes.sandbox_harness import Connector

BILLS = f"{ACCOUNTING}/bills/bills"
PAYMENTS = f"{ACCOUNTING}/bill_payments/bill_payments"
NEW_BILL = {
    "vendorid": 105,
    "issue_date": "2026-03-01",
    "due_offset_days": 30,
    "currency_code": "USD",
    "language": "en",
    "bill_number": "INV-88",
    "lines": [
        {"categoryid": 3021, "description": "Contract review", "quantity": 2,
         "unit_cost": {"amount": "125.00", "code": "USD"}},
        {"categoryid": 3020, "description": "Filing", "quantity": 1,
         "unit_cost": {"amount": "50.00", "code": "USD"}, "tax_name1": "NY", "tax_percent1": 10},
    ],
}  # fmt: skip


def _bill(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    bill: dict[str, Any] = answer.json()["response"]["result"]["bill"]
    return bill


async def test_a_new_bill_computes_its_amounts_due_date_and_status(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        bill = _bill(await client.post(f"{BILLS}?include[]=vendor", json={"bill": NEW_BILL},
                                       headers=headers))  # fmt: skip
        assert bill["amount"] == {"amount": "300.00", "code": "USD"}
        assert bill["tax_amount"] == {"amount": "5.00", "code": "USD"}
        assert bill["total_amount"] == {"amount": "305.00", "code": "USD"}
        assert bill["outstanding"] == bill["total_amount"]
        assert bill["paid"]["amount"] == "0.00"
        assert bill["due_date"] == "2026-03-31"
        assert bill["status"] in ("unpaid", "overdue")
        assert bill["lines"][0]["amount"]["amount"] == "250.00"
        assert bill["lines"][0]["category"]["category"] == "Legal Fees"
        assert bill["vendor"]["vendor_name"] == "Harbor Legal LLP"
        missing = await client.post(BILLS, json={"bill": {"vendorid": 105}}, headers=headers)
        assert missing.json()["response"]["errors"][0]["errno"] == 1001


async def test_payments_change_paid_outstanding_and_status_of_the_bill(connect: Connector) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        bill = _bill(await client.post(BILLS, json={"bill": NEW_BILL}, headers=headers))
        payment = {
            "billid": bill["id"],
            "amount": {"amount": "100.00", "code": "USD"},
            "payment_type": "Check",
            "paid_date": "2026-03-20",
            "note": "BILL pmt 0x1f",
        }
        created = await client.post(PAYMENTS, json={"bill_payment": payment}, headers=headers)
        assert created.status_code == 200
        paid = created.json()["response"]["result"]["bill_payment"]
        assert paid["matched_with_expense"] is False
        assert paid["vis_state"] == 0
        partial = _bill(await client.get(f"{BILLS}/{bill['id']}", headers=headers))
        assert (partial["status"], partial["outstanding"]["amount"]) == ("partial", "205.00")
        too_much = {**payment, "amount": {"amount": "999.00", "code": "USD"}}
        refused = await client.post(PAYMENTS, json={"bill_payment": too_much}, headers=headers)
        assert refused.json()["response"]["errors"][0]["errno"] == 1004
        wrong_type = {**payment, "payment_type": "Bitcoin"}
        refused = await client.post(PAYMENTS, json={"bill_payment": wrong_type}, headers=headers)
        assert refused.json()["response"]["errors"][0]["field"] == "payment_type"
        rest = {**payment, "amount": {"amount": "205.00", "code": "USD"}}
        await client.post(PAYMENTS, json={"bill_payment": rest}, headers=headers)
        settled = _bill(await client.get(f"{BILLS}/{bill['id']}", headers=headers))
        assert (settled["status"], settled["outstanding"]["amount"]) == ("paid", "0.00")
        assert len(settled["bill_payments"]) == 2
        corrected = {"amount": {"amount": "50.00", "code": "USD"}, "note": "corrected"}
        await client.put(f"{PAYMENTS}/{paid['id']}", json={"bill_payment": corrected},
                         headers=headers)  # fmt: skip
        corrected_bill = _bill(await client.get(f"{BILLS}/{bill['id']}", headers=headers))
        assert (corrected_bill["status"], corrected_bill["outstanding"]["amount"]) == (
            "partial",
            "50.00",
        )
        await client.put(f"{PAYMENTS}/{paid['id']}", json={"bill_payment": {"vis_state": 1}},
                         headers=headers)  # fmt: skip
        reopened = _bill(await client.get(f"{BILLS}/{bill['id']}", headers=headers))
        assert (reopened["status"], reopened["outstanding"]["amount"]) == ("partial", "100.00")
        assert paid["id"] not in [p["id"] for p in reopened["bill_payments"]]


async def test_the_seeded_bills_show_part_paid_and_paid_and_filter_by_status(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        answer = await client.get(f"{BILLS}?search[statuses][]=paid&search[statuses][]=partial",
                                  headers=headers)  # fmt: skip
        bills = {b["id"]: b["status"] for b in answer.json()["response"]["result"]["bills"]}
        assert bills == {202: "partial", 204: "paid"}
        by_vendor = await client.get(f"{BILLS}?search[vendorid]=103", headers=headers)
        assert [b["bill_number"] for b in by_vendor.json()["response"]["result"]["bills"]] == [
            "DL-90412"
        ]


async def test_ledger_accounts_are_unwrapped_data_created_with_201_and_errors_in_their_shape(
    connect: Connector,
) -> None:
    async with connect(FreshBooksSandbox()) as client:
        headers = await bearer(client)
        listed = (await client.get(LEDGER, headers=headers)).json()
        assert set(listed) == {"data"}
        cash = next(a for a in listed["data"] if a["name"] == "Cash")
        assert cash["type"] == "asset"
        assert len(cash["sub_accounts"]) == 1
        created = await client.post(
            LEDGER,
            json={"name": "Stock Photos", "number": "5033", "sub_type": "Operating Expense",
                  "parent_account": cash["uuid"]},
            headers=headers,
        )  # fmt: skip
        assert created.status_code == 201
        account = created.json()["data"]
        assert (account["parent_account"], account["type"]) == (cash["uuid"], "asset")
        one = await client.get(f"{LEDGER}/{account['uuid']}", headers=headers)
        assert one.json()["data"]["name"] == "Stock Photos"
        invalid = await client.post(LEDGER, json={"number": "1"}, headers=headers)
        assert invalid.status_code == 400
        details = invalid.json()["errors"]["details"]
        assert [d["metadata"]["field"] for d in details] == ["name", "sub_type", "parent_account"]
        assert details[0]["reason"] == "name: This field is required."
        missing = await client.get(f"{LEDGER}/no-such-uuid", headers=headers)
        assert missing.status_code == 404
        assert missing.json() == {
            "errors": {
                "message": "Request failed with status code 404",
                "status": 404,
                "details": [
                    {"reason": "Not found.", "metadata": {"message": "Not found.", "field": None}}
                ],
            }
        }
        other = await client.get(
            "/accounting/businesses/00000000-0000-0000-0000-000000000000/ledger_accounts/accounts",
            headers=headers,
        )
        assert other.status_code == 404
