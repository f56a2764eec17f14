"""BILL vendors, bills, chart of accounts and payments: shapes, 201s, archive (sheet 7-10)."""

from __future__ import annotations

from sandboxes.bill.app import BillSandbox
from sandboxes.bill.settings import BillSandboxSettings
from tests.sandboxes.bill.bill_helpers import (
    ADOBE_BILL,
    ADOBE_VENDOR,
    API,
    SOFTWARE_GL,
    login,
    single_error,
)
from tests.sandboxes.sandbox_harness import Connector

NEW_BILL = {
    "vendorId": ADOBE_VENDOR,
    "dueDate": "2026-12-15",
    "description": "Stock plan",
    "invoice": {"invoiceNumber": "ADB-9001", "invoiceDate": "2026-11-15"},
    "billLineItems": [
        {
            "amount": 149.0,
            "description": "Stock images",
            "classifications": {"chartOfAccountId": SOFTWARE_GL},
        },
        {"quantity": 3, "price": 19.99, "description": "Fonts"},
    ],
}


async def test_a_vendor_is_created_with_201_and_read_back(connect: Connector) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        created = await client.post(
            f"{API}/vendors",
            json={
                "name": "Acme Parts",
                "accountType": "BUSINESS",
                "email": "ap@acme.example",
                "address": {
                    "line1": "1 Main St",
                    "city": "San Jose",
                    "stateOrProvince": "CA",
                    "zipOrPostalCode": "95002",
                    "country": "US",
                },
                "paymentInformation": {"payeeName": "Acme Parts"},
                "billCurrency": "USD",
            },
            headers=headers,
        )
        assert created.status_code == 201
        vendor = created.json()
        assert vendor["id"].startswith("009")
        assert len(vendor["id"]) == 20
        assert vendor["archived"] is False
        assert vendor["paymentInformation"]["payeeName"] == "Acme Parts"
        assert vendor["createdTime"].endswith("Z")
        read = await client.get(f"{API}/vendors/{vendor['id']}", headers=headers)
        assert read.json() == vendor


async def test_a_bill_computes_its_amount_from_coded_line_items(connect: Connector) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        created = await client.post(f"{API}/bills", json=NEW_BILL, headers=headers)
        assert created.status_code == 201
        bill = created.json()
        assert bill["id"].startswith("00n")
        assert bill["amount"] == 208.97
        assert bill["dueAmount"] == 208.97
        assert bill["paymentStatus"] == "UNPAID"
        assert bill["vendorName"] == "Adobe Inc."
        assert bill["billLineItems"][0]["classifications"] == {"chartOfAccountId": SOFTWARE_GL}
        assert bill["billLineItems"][1]["amount"] == 59.97
        assert bill["invoice"] == {"invoiceNumber": "ADB-9001", "invoiceDate": "2026-11-15"}


async def test_a_bill_without_required_fields_is_refused(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        for missing in ("vendorId", "dueDate", "billLineItems", "invoice"):
            body = {k: v for k, v in NEW_BILL.items() if k != missing}
            answer = await client.post(f"{API}/bills", json=body, headers=headers)
            assert answer.status_code == 400, missing
            assert missing in single_error(answer)["message"]


async def test_a_line_coded_to_an_unknown_gl_account_is_refused(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        body = {
            **NEW_BILL,
            "billLineItems": [
                {"amount": 5, "classifications": {"chartOfAccountId": "0ca01NOSUCHACCOUNTXX"}}
            ],
        }
        answer = await client.post(f"{API}/bills", json=body, headers=headers)
        assert answer.status_code == 404
        single_error(answer)


async def test_patch_changes_the_named_line_items_and_keeps_the_rest_put_replaces_them(
    in_process: Connector,
) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        bill = (await client.post(f"{API}/bills", json=NEW_BILL, headers=headers)).json()
        first, second = (line["id"] for line in bill["billLineItems"])

        patched = await client.patch(
            f"{API}/bills/{bill['id']}",
            json={"billLineItems": [{"id": first, "amount": 179, "description": "Images+"}]},
            headers=headers,
        )
        assert patched.status_code == 200, patched.text
        lines = {line["id"]: line for line in patched.json()["billLineItems"]}
        assert set(lines) == {first, second}  # the unnamed line is kept
        assert (lines[first]["amount"], lines[first]["description"]) == (179.0, "Images+")
        assert lines[first]["classifications"] == {"chartOfAccountId": SOFTWARE_GL}
        assert lines[second]["amount"] == 59.97
        assert patched.json()["amount"] == 238.97
        due = await client.patch(
            f"{API}/bills/{bill['id']}", json={"dueDate": "2027-01-15"}, headers=headers
        )
        assert due.json()["dueDate"] == "2027-01-15"
        assert len(due.json()["billLineItems"]) == 2

        for wrong in ({"amount": 5}, {"id": "0ii01NOSUCHLINEXXXXX", "amount": 5}):
            refused = await client.patch(
                f"{API}/bills/{bill['id']}", json={"billLineItems": [wrong]}, headers=headers
            )
            assert refused.status_code == 400, wrong
            assert "billLineItems[0].id" in single_error(refused)["message"]

        replaced = await client.put(
            f"{API}/bills/{bill['id']}",
            json={**NEW_BILL, "billLineItems": [{"id": second, "amount": 60}]},
            headers=headers,
        )
        assert [line["id"] for line in replaced.json()["billLineItems"]] == [second]
        assert replaced.json()["amount"] == 60.0


async def test_the_same_create_twice_makes_two_bills(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client)
        first = await client.post(f"{API}/bills", json=NEW_BILL, headers=headers)
        second = await client.post(f"{API}/bills", json=NEW_BILL, headers=headers)
        assert first.json()["id"] != second.json()["id"]


async def test_duplicate_invoice_numbers_can_be_rejected_by_setting(
    in_process: Connector,
) -> None:
    settings = BillSandboxSettings(duplicate_invoice_number="reject")
    async with in_process(BillSandbox(settings=settings)) as client:
        headers = await login(client)
        assert (
            await client.post(f"{API}/bills", json=NEW_BILL, headers=headers)
        ).status_code == 201
        again = await client.post(f"{API}/bills", json=NEW_BILL, headers=headers)
        assert again.status_code == 400


async def test_archive_and_restore_replace_delete(connect: Connector) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        archived = await client.post(f"{API}/bills/{ADOBE_BILL}/archive", headers=headers)
        assert archived.status_code == 200
        assert archived.json()["archived"] is True
        again = await client.post(f"{API}/bills/{ADOBE_BILL}/archive", headers=headers)
        assert again.status_code == 200
        live = await client.get(
            f"{API}/bills", params={"filters": "archived:eq:false", "max": "100"}, headers=headers
        )
        assert ADOBE_BILL not in [b["id"] for b in live.json()["results"]]
        restored = await client.post(f"{API}/bills/{ADOBE_BILL}/restore", headers=headers)
        assert restored.json()["archived"] is False


async def test_chart_of_accounts_holds_the_orgs_gl_accounts(connect: Connector) -> None:
    async with connect(BillSandbox()) as client:
        headers = await login(client)
        listed = await client.get(
            f"{API}/classifications/chart-of-accounts", params={"max": "100"}, headers=headers
        )
        accounts = listed.json()["results"]
        assert len(accounts) == 20
        assert {"id", "archived", "name", "account", "createdTime", "updatedTime"} <= set(
            accounts[0]
        )
        assert {a["account"]["type"] for a in accounts} >= {"EXPENSE", "ACCOUNTS_PAYABLE", "BANK"}
        created = await client.post(
            f"{API}/classifications/chart-of-accounts",
            json={"name": "Prepaid Expenses 2", "account": {"type": "EXPENSE", "number": "1-020"}},
            headers=headers,
        )
        assert created.status_code == 201
        assert created.json()["id"].startswith("0ca")


async def test_payments_need_a_trusted_session(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        body = {
            "vendorId": ADOBE_VENDOR,
            "billId": ADOBE_BILL,
            "amount": 100.0,
            "processDate": "2026-12-01",
            "fundingAccount": {"type": "BANK_ACCOUNT", "id": "bac01X"},
        }
        untrusted = await client.post(f"{API}/payments", json=body, headers=await login(client))
        assert untrusted.status_code == 403
        assert single_error(untrusted)["code"] == "BDC_1361"
        trusted = await client.post(
            f"{API}/payments", json=body, headers=await login(client, trusted=True)
        )
        assert trusted.status_code == 201
        payment = trusted.json()
        assert payment["id"].startswith("stp")
        assert payment["billPayments"][0]["id"].startswith("blp")
        assert payment["billPayments"][0]["billId"] == ADOBE_BILL
        assert payment["status"] == payment["singleStatus"] == "SCHEDULED"


async def test_a_payment_above_the_open_amount_is_refused(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client, trusted=True)
        body = {
            "vendorId": ADOBE_VENDOR,
            "billId": ADOBE_BILL,
            "amount": 10_000.0,
            "fundingAccount": {"type": "BANK_ACCOUNT", "id": "bac01X"},
        }
        answer = await client.post(f"{API}/payments", json=body, headers=headers)
        assert answer.status_code == 400
        single_error(answer)


async def test_a_cleared_payment_voided_makes_its_bill_owe_again(in_process: Connector) -> None:
    async with in_process(BillSandbox()) as client:
        headers = await login(client, trusted=True)
        bill = (await client.get(f"{API}/bills/{ADOBE_BILL}", headers=headers)).json()
        body = {
            "vendorId": ADOBE_VENDOR,
            "billId": ADOBE_BILL,
            "amount": 100.0,
            "fundingAccount": {"type": "BANK_ACCOUNT", "id": "bac01X"},
        }
        payment = (await client.post(f"{API}/payments", json=body, headers=headers)).json()
        await client.post("/_sandbox/clock", json={"advance_seconds": 3 * 24 * 3600})
        await client.post("/_sandbox/actions/settle_payments", json={})
        headers = await login(client, trusted=True)  # the session idled out meanwhile
        cleared = (await client.get(f"{API}/payments/{payment['id']}", headers=headers)).json()
        paid = (await client.get(f"{API}/bills/{ADOBE_BILL}", headers=headers)).json()

        voided = await client.post(f"{API}/payments/{payment['id']}/void", headers=headers)
        again = await client.post(f"{API}/payments/{payment['id']}/void", headers=headers)
        after = (await client.get(f"{API}/bills/{ADOBE_BILL}", headers=headers)).json()

    assert cleared["singleStatus"] == "CLEARED"
    assert paid["paidAmount"] == 100.0
    assert voided.status_code == 200
    assert (voided.json()["status"], voided.json()["singleStatus"]) == ("VOID", "VOIDED")
    assert again.json()["updatedTime"] == voided.json()["updatedTime"]  # no second effect
    assert after["paidAmount"] == 0.0
    assert after["dueAmount"] == bill["dueAmount"]
