"""Flow 4 end to end: FreshBooks -> BILL and BILL's payments back (real Kafka, real HTTP).

One stack for the module (``StackPlan.for_demo`` with flow ``ap-bill`` alone): the ingest,
the ``freshbooks`` and ``bill`` services as processes, both sandboxes on sockets, FreshBooks
connected by consent, BILL with its key and login, one link both ways. Bills are entered in
the FreshBooks sandbox (its callbacks reach the ingest), payments made and cleared in the
BILL sandbox (its notifications reach the ingest); what happened is read from both
sandboxes and from ``sync.outcome``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from devstack.flows import LINK_OPTIONS
from devstack.stack import StackInfo, StackPlan, start_stack, stop_stack
from mlc.app import app
from sandboxes.kit import wait_until
from services.runtime.audit_trail import read_events

DAY = 24 * 3600
OFFICE_SUPPLIES = 3012  # a FreshBooks category BILL has by name


@dataclass
class ApBillStack:
    info: StackInfo
    http: httpx.AsyncClient

    @property
    def books(self) -> str:
        return self.info.sandboxes["freshbooks"]

    @property
    def bill_pay(self) -> str:
        return self.info.sandboxes["bill"]

    async def action(self, base: str, name: str, payload: dict[str, Any]) -> Any:
        answer = await self.http.post(f"{base}/_sandbox/actions/{name}", json=payload)
        assert answer.is_success, f"{name}: {answer.status_code} {answer.text}"
        return answer.json()

    async def control(self, base: str, path: str, payload: dict[str, Any]) -> Any:
        answer = await self.http.post(f"{base}/_sandbox/{path}", json=payload)
        assert answer.is_success, f"{path}: {answer.status_code} {answer.text}"
        return answer.json()

    async def state(self, base: str, collection: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{base}/_sandbox/state/{collection}")
        answer.raise_for_status()
        return list(answer.json())

    async def outcome(self, service: str, entity_key: str, *, count: int = 1) -> list[Any]:
        """``service``'s answers for ``entity_key`` that did something or wait for a person,
        once there are ``count``. A bill can be attempted twice (parked, and found again as
        its vendor arrived): the second attempt is ``unchanged`` and is no answer of its
        own, but a second write would be one."""
        links = {link["id"] for link in self.info.links}

        async def found() -> list[Any] | None:
            logged = await read_events(
                self.info.kafka,
                topics=["sync.outcome"],
                # This stack's links only: other modules on this worker share its broker,
                # and their sandboxes number records the same way.
                keep=lambda e: (
                    e.event.get("service") == service
                    and e.event.get("entity_key") == entity_key
                    and e.event.get("link_id") in links
                    and e.event.get("status") != "failed"
                ),
            )
            events = [e.event for e in sorted(logged, key=lambda e: str(e.event["recorded_at"]))]
            settled = [e for e in events if e["status"] not in ("waiting", "unchanged")]
            return settled if len(settled) >= count else None

        return await wait_until(
            found, timeout_seconds=120, interval_seconds=0.5, message=f"{service} {entity_key}"
        )

    async def vendor(self, name: str) -> int:
        email = f"ap@{name.split(maxsplit=1)[0].lower()}.example"
        made = await self.action(
            self.books, "create_bill_vendor", {"vendor_name": name, "primary_contact_email": email}
        )
        return int(made["vendorid"])

    async def bill(self, vendor_id: int, number: str, amount: str = "120.00") -> int:
        made = await self.action(
            self.books,
            "create_bill",
            {
                "vendorid": vendor_id, "bill_number": number, "issue_date": "2026-11-20",
                "due_offset_days": 30, "currency_code": "USD",
                "lines": [{"categoryid": OFFICE_SUPPLIES, "description": "Supplies",
                           "quantity": 1, "unit_cost": {"amount": amount, "code": "USD"}}],
            },
        )  # fmt: skip
        return int(made["id"])

    async def bill_pay_bills(self, number: str) -> list[dict[str, Any]]:
        bills = await self.state(self.bill_pay, "bills")
        return [b for b in bills if b["invoice"]["invoiceNumber"] == number]

    async def pay_and_clear(self, bill_pay_id: str, amount: float) -> str:
        """Pay in BILL and clear it; the share's entity key (``payment:share``)."""
        paid = await self.action(
            self.bill_pay, "pay_bill", {"bill_id": bill_pay_id, "amount": amount}
        )
        await self.control(self.bill_pay, "clock", {"advance_seconds": 3 * DAY})
        await self.action(self.bill_pay, "settle_payments", {})
        return f"{paid['id']}:{paid['billPayments'][0]['id']}"

    async def fb_bill(self, bill_id: int) -> dict[str, Any]:
        [found] = [b for b in await self.state(self.books, "bills") if int(b["id"]) == bill_id]
        return found


@pytest.fixture(scope="module")
async def stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ApBillStack]:
    run_dir = tmp_path_factory.mktemp("flow-ap-bill-stack")
    plan = StackPlan.for_demo(
        {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DEMO_RUN_DIR": str(run_dir)}, ["ap-bill"]
    )
    try:
        info = await start_stack(plan, lambda _: None)
        assert info.services == {"freshbooks": "running", "bill": "running"}
        async with httpx.AsyncClient(timeout=30.0) as http:
            yield ApBillStack(info, http)
    finally:
        await asyncio.to_thread(stop_stack, plan, lambda _: None)


async def test_a_bill_with_a_new_vendor_then_a_second_for_it_one_vendor_in_bill(
    stack: ApBillStack,
) -> None:
    vendor = await stack.vendor("Lumen Print Shop")
    first = await stack.bill(vendor, "LP-1")
    [written] = await stack.outcome("bill", str(first))
    second = await stack.bill(vendor, "LP-2", "80.00")
    [again] = await stack.outcome("bill", str(second))

    assert (written["status"], written["operation"]) == ("applied", "create_bill"), written
    assert again["operation"] == "create_bill", again
    vendors = [
        v for v in await stack.state(stack.bill_pay, "vendors") if v["name"] == "Lumen Print Shop"
    ]
    assert len(vendors) == 1
    [copy] = await stack.bill_pay_bills("LP-2")
    assert (copy["vendorId"], copy["amount"]) == (vendors[0]["id"], 80.0)


async def test_the_same_bill_entered_twice_is_one_bill_in_bill_and_one_review(
    stack: ApBillStack,
) -> None:
    vendor = await stack.vendor("Quarry Stone Co")
    first = await stack.bill(vendor, "QS-9")
    await stack.outcome("bill", str(first))
    twice = await stack.bill(vendor, "QS-9")
    [flagged] = await stack.outcome("bill", str(twice))

    assert flagged["status"] == "needs_review", flagged
    assert "entered twice" in flagged["detail"]
    assert len(await stack.bill_pay_bills("QS-9")) == 1


async def test_an_edit_before_payment_updates_the_bill_in_bill(stack: ApBillStack) -> None:
    vendor = await stack.vendor("Orchid Florals")
    bill = await stack.bill(vendor, "OF-3")
    await stack.outcome("bill", str(bill))
    await stack.action(stack.books, "update_bill", {"id": bill, "lines": [
        {"categoryid": OFFICE_SUPPLIES, "description": "Supplies", "quantity": 2,
         "unit_cost": {"amount": "120.00", "code": "USD"}}]})  # fmt: skip
    answers = await stack.outcome("bill", str(bill), count=2)

    assert [a["operation"] for a in answers][-1] == "update_bill", answers
    [copy] = await stack.bill_pay_bills("OF-3")
    assert copy["amount"] == 240.0


async def test_a_partial_payment_then_its_void_keep_the_freshbooks_balance_true(
    stack: ApBillStack,
) -> None:
    vendor = await stack.vendor("Vector Cables")
    bill = await stack.bill(vendor, "VC-5", "200.00")
    [written] = await stack.outcome("bill", str(bill))
    share = await stack.pay_and_clear(written["target_ids"]["bill"], 50.0)
    [recorded] = await stack.outcome("freshbooks", share)
    partly = await stack.fb_bill(bill)

    [payment_id, _] = share.split(":")
    await stack.action(stack.bill_pay, "void_payment", {"payment_id": payment_id})
    answers = await stack.outcome("freshbooks", share, count=2)
    after = await stack.fb_bill(bill)

    assert recorded["operation"] == "create_bill_payment", recorded
    assert (partly["status"], partly["outstanding"]["amount"]) == ("partial", "150.00")
    assert answers[-1]["operation"] == "delete_bill_payment", answers
    assert after["outstanding"]["amount"] == "200.00"


async def test_a_lost_payment_notification_is_caught_by_a_sync(stack: ApBillStack) -> None:
    vendor = await stack.vendor("Nimbus Hosting")
    bill = await stack.bill(vendor, "NH-1", "90.00")
    [written] = await stack.outcome("bill", str(bill))
    config = (await stack.http.get(f"{stack.bill_pay}/_sandbox/webhooks")).json()["config"]
    await stack.control(stack.bill_pay, "webhooks", {**config, "drop": 10})
    try:
        share = await stack.pay_and_clear(written["target_ids"]["bill"], 90.0)
    finally:
        await stack.control(stack.bill_pay, "webhooks", {**config, "drop": 0})
    answer = await stack.http.post(
        f"{stack.info.ingest}/api/v1/connections/{stack.info.connections['bill']}/sync",
        headers={"Authorization": f"Bearer {stack.info.operator_token}"},
    )
    assert answer.is_success, answer.text
    [recorded] = await stack.outcome("freshbooks", share)

    assert recorded["operation"] == "create_bill_payment"
    assert (await stack.fb_bill(bill))["status"] == "paid"


async def test_an_unmapped_account_waits_for_review_then_is_written_once_after_the_fix(
    stack: ApBillStack,
) -> None:
    benefits = 3005  # Employee Benefits: BILL's chart has nothing of that number or name
    vendor = await stack.vendor("Harbor Health Plans")
    made = await stack.action(
        stack.books, "create_bill",
        {"vendorid": vendor, "bill_number": "HH-12", "issue_date": "2026-11-20",
         "due_offset_days": 30, "currency_code": "USD",
         "lines": [{"categoryid": benefits, "description": "December premium", "quantity": 1,
                    "unit_cost": {"amount": "410.00", "code": "USD"}}]},
    )  # fmt: skip
    bill = str(made["id"])
    [waiting] = await stack.outcome("bill", bill)
    assert waiting["status"] == "needs_review", waiting
    assert f"id {benefits}" in waiting["detail"]
    assert await stack.bill_pay_bills("HH-12") == []

    env = {
        "MLC_DATABASE_URL": stack.info.database_url,
        "MLC_KAFKA_BOOTSTRAP_SERVERS": stack.info.kafka,
        "MLC_OPERATOR_TOKEN": stack.info.operator_token,
    }
    listed = await _mlc(env, "review", "list", "--json")
    [item] = [i for i in json.loads(listed.output)["items"] if i["entity_key"] == bill]
    [link] = stack.info.links
    account_map = dict(link_account_map())
    account_map[str(benefits)] = "6700"  # Insurance
    options = {"account_map": account_map}
    fixed = await _mlc(env, "links", "set-options", link["id"], json.dumps(options),
                       "--url", stack.info.ingest)  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    redriven = await _mlc(env, "review", "redrive", str(item["id"]))
    assert redriven.exit_code == 0, redriven.output

    answers = await stack.outcome("bill", bill, count=2)
    assert answers[-1]["operation"] == "create_bill", answers
    [copy] = await stack.bill_pay_bills("HH-12")
    assert copy["amount"] == 410.0
    after = json.loads((await _mlc(env, "review", "list", "--json")).output)["items"]
    assert [i for i in after if i["entity_key"] == bill] == []  # closed, nothing new


def link_account_map() -> dict[str, str]:
    """The account map the stack linked flow ap-bill with (``devstack.flows``)."""
    given = LINK_OPTIONS["ap-bill"]["account_map"]
    assert isinstance(given, dict)
    return {str(k): str(v) for k, v in given.items()}


async def _mlc(env: dict[str, str], *args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_an_expired_bill_session_is_replaced_once_mid_run(stack: ApBillStack) -> None:
    vendor = await stack.vendor("Marigold Catering")
    await stack.outcome("bill", str(await stack.bill(vendor, "MC-41")))
    logins_before = await _logins(stack)
    await stack.control(stack.bill_pay, "clock", {"advance_seconds": 36 * 60})  # 35 idle minutes

    later = await stack.bill(vendor, "MC-42")
    [written] = await stack.outcome("bill", str(later))

    assert written["operation"] == "create_bill", written
    assert await _logins(stack) == logins_before + 1


async def _requests(stack: ApBillStack) -> list[dict[str, Any]]:
    answer = await stack.http.get(f"{stack.bill_pay}/_sandbox/requests")
    answer.raise_for_status()
    return list(answer.json())


async def _logins(stack: ApBillStack) -> int:
    return len([r for r in await _requests(stack) if str(r["path"]).endswith("/v3/login")])
