"""BILL's shared session and its calls against the sandbox on a socket (real HTTP, SQLite).

Two replicas share one login; an expired session is replaced once and the call repeated;
a wrong password is a credential refusal; never more than three requests in flight per
organisation across replicas (the sandbox refuses a fourth with BDC_1322: none is seen);
vendors and bills created, found and archived.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.bill.client import BillRejectedError
from services.runtime.oauth_tokens import VendorCallError
from tests.integration.bill.bill_world import BillWorld, bill_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[BillWorld]:
    async with bill_world(tmp_path) as made:
        yield made


def _logins(requests: list[dict[str, object]]) -> int:
    return len([r for r in requests if str(r["path"]).endswith("/v3/login")])


async def test_two_replicas_share_one_login_and_an_expired_session_is_replaced_once(
    world: BillWorld,
) -> None:
    async with world.access() as first, world.access() as second:
        a = await first.client(world.connection_id)
        b = await second.client(world.connection_id)
        await asyncio.gather(
            a.vendors_where("name", "sw", "Adobe"), b.vendors_where("name", "sw", "Getty")
        )
        assert _logins(await world.requests()) == 1

        await world.control.post("/_sandbox/clock", json={"advance_seconds": 36 * 60})
        [adobe] = await a.vendors_where("name", "eq", "Adobe Inc.")
        assert adobe["name"] == "Adobe Inc."
        assert (await b.vendors_where("name", "eq", "Getty Images"))[0]["name"] == "Getty Images"
        assert _logins(await world.requests()) == 2  # one new login, taken by the other
    refused = [
        r
        for r in await world.requests()
        if r["status"] == 401 and not str(r["path"]).endswith("/logout")
    ]
    assert len(refused) == 2  # each replica met the expired session once


async def test_a_wrong_password_is_a_credential_refusal(world: BillWorld) -> None:
    async with world.store.transaction() as repos:
        token = world.vault.encrypt("not-it", connection_id=world.connection_id, field="password")
        await repos.credentials.put(
            world.connection_id, "password", token=token, key_id=world.vault.active_key_id
        )
    async with world.access() as access:
        client = await access.client(world.connection_id)
        with pytest.raises(VendorCallError, match="BDC_1101") as refused:
            await client.vendors_where("name", "sw", "A")
    assert refused.value.unauthorized


async def test_never_more_than_three_in_flight_across_replicas(world: BillWorld) -> None:
    slow = {"path": "/v3/vendors$", "method": "GET", "status": 0, "delay_ms": 150, "count": 10}
    assert (await world.control.post("/_sandbox/faults", json=slow)).is_success
    async with world.access() as first, world.access() as second:
        clients = [await a.client(world.connection_id) for a in (first, second)]
        found = await asyncio.gather(
            *(c.vendors_where("name", "sw", "A") for c in clients for _ in range(5))
        )
    assert all(found)
    statuses = [r["status"] for r in await world.requests() if r["path"].endswith("/v3/vendors")]
    assert statuses == [200] * 10  # no BDC_1322 refusal: a fourth was never sent


async def test_vendors_and_bills_created_found_replaced_and_archived(world: BillWorld) -> None:
    async with world.access() as access:
        client = await access.client(world.connection_id)
        vendor = await client.create_vendor({"name": "Pixel & Co", "accountType": "BUSINESS"})
        [found] = await client.vendors_where("name", "eq", "Pixel & Co")
        assert found["id"] == vendor["id"]
        [account] = [
            c for c in await client.chart_of_accounts() if c["account"]["number"] == "6100"
        ]
        body = {
            "vendorId": vendor["id"],
            "dueDate": "2026-12-31",
            "invoice": {"invoiceNumber": "PX-1", "invoiceDate": "2026-12-01"},
            "billLineItems": [
                {"amount": 100, "classifications": {"chartOfAccountId": account["id"]}}
            ],
        }
        bill = await client.create_bill(body)
        assert [b["id"] for b in await client.bills_of_vendor(vendor["id"])] == [bill["id"]]
        replaced = await client.replace_bill(
            bill["id"], {**body, "billLineItems": [{"amount": 120}]}
        )
        assert replaced["amount"] == 120
        await client.set_bill_archived(bill["id"], archived=True)
        read = await client.bill(bill["id"])
        assert read is not None
        assert read["archived"] is True
        assert await client.bill("00n01NOSUCHBILLXXXXX") is None
        with pytest.raises(BillRejectedError, match="vendorId"):
            await client.create_bill({**body, "vendorId": None})
