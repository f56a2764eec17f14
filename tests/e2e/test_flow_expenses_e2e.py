"""Flow 5 end to end: approved Expensify reports -> FreshBooks (real Kafka, real HTTP).

One stack for the module (``StackPlan.for_demo`` with flow ``expenses`` alone): the ingest
and the control plane, the ``expensify`` and ``freshbooks`` services as processes, both
sandboxes on sockets, FreshBooks connected by consent, Expensify with its partner
credentials, one link. Reports are filed and approved in the Expensify sandbox; a poll is
``POST .../connections/{id}/sync`` (the demo stack runs no scheduler); what happened is read
from FreshBooks, from ``sync.outcome`` and from the store's review queue and audit log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devstack.service_processes import ServiceProcesses
from devstack.stack import StackInfo, StackPlan, start_stack, stop_stack
from sandboxes.kit import wait_until
from services.runtime.audit_trail import read_events
from services.runtime.store import StateStore

PRIYA = "priya.raman@acmecreative.example"
HANNAH = "hannah.kim@acmecreative.example"
CHLOE = "chloe.martin@acmecreative.example"
PRIYA_CARD = "5312343"
RATE_LIMIT_MESSAGE = (
    "You have been rate-limited. Please try again later or contact help@expensify.com for "
    "assistance."
)


def flight(amount: int = 21400) -> dict[str, Any]:
    return {"merchant": "Delta", "amount": amount, "category": "Airfare", "tag": "Strategy"}


@dataclass
class ExpensesStack:
    plan: StackPlan
    info: StackInfo
    http: httpx.AsyncClient

    @property
    def expensify(self) -> str:
        return self.info.sandboxes["expensify"]

    @property
    def books(self) -> str:
        return self.info.sandboxes["freshbooks"]

    @property
    def link(self) -> str:
        return next(x["id"] for x in self.info.links if x["flow"] == "expenses")

    def api(self, path: str) -> str:
        return f"{self.info.ingest}/api/v1{path}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.info.operator_token}"}

    async def action(self, base: str, name: str, payload: dict[str, Any]) -> Any:
        answer = await self.http.post(f"{base}/_sandbox/actions/{name}", json=payload)
        assert answer.is_success, f"{name}: {answer.status_code} {answer.text}"
        return answer.json()

    async def file(
        self,
        email: str,
        title: str,
        expenses: list[dict[str, Any]],
        *,
        card: list[dict[str, Any]] | None = None,
        approve: bool = True,
    ) -> str:
        attach: list[str] = []
        if card:
            posted = await self.action(self.expensify, "import_card_transactions",
                                       {"cardID": PRIYA_CARD, "transactions": card})  # fmt: skip
            attach = [t["transactionID"] for t in posted["transactionList"]]
        filed = await self.action(self.expensify, "submit_report", {
            "employeeEmail": email, "title": title, "expenses": expenses,
            "transactionIDs": attach,
        })  # fmt: skip
        if approve:
            await self.action(self.expensify, "approve_report", {"reportID": filed["reportID"]})
        return str(filed["reportID"])

    async def poll(self) -> None:
        """``mlc connections sync <expensify>``: the next poll, now."""
        connection = self.info.connections["expensify"]
        answer = await self.http.post(
            self.api(f"/connections/{connection}/sync"), headers=self.auth
        )
        assert answer.is_success, answer.text

    async def outcomes(self, report_id: str) -> list[dict[str, Any]]:
        logged = await read_events(
            self.info.kafka,
            topics=["sync.outcome"],
            # This stack's link only: other modules on this worker share its broker, and
            # their Expensify sandboxes number reports the same way.
            keep=lambda e: (
                e.event.get("service") == "freshbooks"
                and e.event.get("entity_key") == report_id
                and e.event.get("link_id") == self.link
            ),
        )
        return [e.event for e in sorted(logged, key=lambda e: str(e.event["recorded_at"]))]

    async def answer(
        self, report_id: str, *, count: int = 1, timeout_seconds: float = 120
    ) -> list[dict[str, Any]]:
        """The sink's answers for the report, once there are ``count`` (failures left out)."""

        async def found() -> list[dict[str, Any]] | None:
            answers = [o for o in await self.outcomes(report_id) if o["status"] != "failed"]
            return answers if len(answers) >= count else None

        return await wait_until(found, timeout_seconds=timeout_seconds, interval_seconds=0.5,
                                message=f"report {report_id}")  # fmt: skip

    async def state(self, base: str, collection: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{base}/_sandbox/state/{collection}")
        answer.raise_for_status()
        return list(answer.json())

    async def bills(self, report_id: str) -> list[dict[str, Any]]:
        return [b for b in await self.state(self.books, "bills")
                if b.get("bill_number") == f"EXP-{report_id}" and b["vis_state"] == 0]  # fmt: skip

    async def expenses(self, report_id: str) -> list[dict[str, Any]]:
        marker = f"[Expensify {report_id}/"
        return [e for e in await self.state(self.books, "expenses")
                if marker in str(e.get("notes") or "") and e["vis_state"] == 0]  # fmt: skip


@pytest.fixture(scope="module")
async def stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ExpensesStack]:
    run_dir = tmp_path_factory.mktemp("flow-expenses-stack")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DEMO_RUN_DIR": str(run_dir),
        # A killed service's report lease runs out sooner than the default two minutes.
        "MLC_FRESHBOOKS_REPORT_LEASE_SECONDS": "20",
    }
    plan = StackPlan.for_demo(env, ["expenses"])
    try:
        info = await start_stack(plan, lambda _: None)
        assert info.services == {"expensify": "running", "freshbooks": "running"}
        async with httpx.AsyncClient(timeout=30.0) as http:
            yield ExpensesStack(plan, info, http)
    finally:
        await asyncio.to_thread(stop_stack, plan, lambda _: None)


async def test_an_approved_report_is_a_bill_and_an_expense_and_two_polls_book_it_once(
    stack: ExpensesStack,
) -> None:
    report = await stack.file(PRIYA, "Initech onsite", [flight()],
                              card=[{"merchant": "WeWork", "amount": 4500,
                                     "category": "Office Supplies"}])  # fmt: skip
    await stack.poll()
    [booked] = await stack.answer(report)
    await stack.poll()  # the same report exported again
    marker = await stack.file(PRIYA, "Cab home", [flight(3000)])
    await stack.poll()
    await stack.answer(marker)  # the second poll is over

    assert (booked["status"], booked["operation"]) == (
        "applied", "create_bill_vendor+create_bill+create_expense",
    ), booked  # fmt: skip
    assert len(await stack.outcomes(report)) == 1, "published once, booked once"
    [bill] = await stack.bills(report)
    assert bill["total_amount"]["amount"] == "214.00"
    [expense] = await stack.expenses(report)
    assert (expense["amount"]["amount"], expense["categoryid"]) == ("45.00", 3012)


async def test_an_unapproved_report_is_never_written(stack: ExpensesStack) -> None:
    pending = await stack.file(HANNAH, "Not approved yet", [flight(1200)], approve=False)
    approved = await stack.file(HANNAH, "Approved", [flight(1300)])
    await stack.poll()
    await stack.answer(approved)

    assert await stack.outcomes(pending) == []
    assert await stack.bills(pending) == []


async def test_an_unmapped_category_waits_then_is_fixed_redriven_and_written_once(
    stack: ExpensesStack,
) -> None:
    report = await stack.file(CHLOE, "Client gifts", [
        {"merchant": "Harry & David", "amount": 9900, "category": "Client Gifts"}])  # fmt: skip
    await stack.poll()
    [waiting] = await stack.answer(report)
    listed = await stack.http.get(stack.api(f"/review?link={stack.link}"), headers=stack.auth)
    [item] = [i for i in listed.json()["items"] if i["record"] == report]
    fixed = await stack.http.put(
        stack.api(f"/links/{stack.link}/mappings/category/Client Gifts"),
        json={"target": "Other Expenses"},
        headers=stack.auth,
    )
    redriven = await stack.http.post(stack.api(f"/review/{item['id']}/redrive"), headers=stack.auth)
    answers = await stack.answer(report, count=2)
    again = await stack.http.post(stack.api(f"/review/{item['id']}/redrive"), headers=stack.auth)

    assert waiting["status"] == "needs_review", waiting
    assert [r["missing"] for r in item["reasons"]] == ["expense category"]
    assert "Client Gifts (GL 6250)" in item["reasons"][0]["value"]
    assert fixed.status_code == 200, fixed.text
    assert redriven.status_code == 200, redriven.text
    assert [a["status"] for a in answers] == ["needs_review", "applied"]
    assert again.status_code == 409, "a re-driven item is closed: re-driving twice is refused"
    assert len(await stack.bills(report)) == 1
    store = await StateStore.open(stack.info.database_url)
    try:
        async with store.transaction() as repos:
            trail = await repos.audit_log.list(limit=1000)
    finally:
        await store.close()
    actions = [entry.action for entry in reversed(trail)]
    assert actions.index("mapping.set") < actions.index("review.redriven"), actions


async def test_a_report_rejected_and_approved_again_with_changes_waits_as_a_conflict(
    stack: ExpensesStack,
) -> None:
    filed = await stack.action(stack.expensify, "submit_report", {
        "employeeEmail": PRIYA, "title": "Hotel", "expenses": [flight(18000)]})  # fmt: skip
    report, expense = str(filed["reportID"]), filed["expenses"][0]["transactionID"]
    await stack.action(stack.expensify, "approve_report", {"reportID": report})
    await stack.poll()
    [booked] = await stack.answer(report)
    await stack.action(stack.expensify, "reject_report", {"reportID": report})
    await stack.action(stack.expensify, "edit_expense", {"transactionID": expense, "amount": 21000})
    await stack.action(stack.expensify, "resubmit_report", {"reportID": report})
    await stack.action(stack.expensify, "approve_report", {"reportID": report})
    await stack.poll()
    answers = await stack.answer(report, count=2)

    assert booked["status"] == "applied"
    assert answers[-1]["status"] == "needs_review", answers
    assert "changed in Expensify after it was booked" in answers[-1]["detail"]
    [bill] = await stack.bills(report)
    assert bill["total_amount"]["amount"] == "180.00", "booked once, not rewritten"


async def test_expensifys_rate_limit_is_backed_off_and_nothing_is_lost(
    stack: ExpensesStack,
) -> None:
    # Expensify's own answer, twice: HTTP 429 and its rate-limit message (sheet 10). Our
    # proactive windows space the jobs, so the sandbox's own limiter could not be relied on
    # to refuse one; this refusal is certain.
    limited = {"path": "ExpensifyIntegrations", "method": "POST", "status": 429, "count": 2,
               "body": {"responseMessage": RATE_LIMIT_MESSAGE, "responseCode": 429}}  # fmt: skip
    (await stack.http.post(f"{stack.expensify}/_sandbox/faults", json=limited)).raise_for_status()
    report = await stack.file(HANNAH, "Parking", [flight(2200)])
    await stack.poll()  # refused twice, sent again after a backoff each time
    [booked] = await stack.answer(report)
    rules = (await stack.http.get(f"{stack.expensify}/_sandbox/faults")).json()

    assert [r["fired"] for r in rules if r["status"] == 429] == [2], "both refusals were met"
    assert booked["status"] == "applied", booked
    assert len(await stack.bills(report)) == 1


async def test_the_test_prefix_keeps_every_other_report_out(stack: ExpensesStack) -> None:
    link = stack.api(f"/links/{stack.link}")
    options = {"create_bill_vendors": True, "test_report_prefix": "MLC TEST"}
    (await stack.http.patch(link, json={"options": options}, headers=stack.auth)).raise_for_status()
    try:
        other = await stack.file(HANNAH, "Team lunch", [flight(4000)])
        trial = await stack.file(HANNAH, "MLC TEST lunch", [flight(4100)])
        await stack.poll()
        [booked] = await stack.answer(trial)
    finally:
        restored = {"create_bill_vendors": True, "poll_every_seconds": 60}
        answer = await stack.http.patch(link, json={"options": restored}, headers=stack.auth)
        answer.raise_for_status()

    assert booked["status"] == "applied"
    # The other report is never written: at most skipped (whenever the sink reaches it).
    skipped = await stack.outcomes(other)
    assert [(o["status"], o["operation"]) for o in skipped] in ([], [("unchanged", "skip")])
    assert await stack.bills(other) == []


async def test_the_service_killed_between_the_bill_and_the_expenses_completes_it_once(
    stack: ExpensesStack,
) -> None:
    # The first expense create hangs, then is refused: the kill lands while it hangs.
    slow = {"path": "/expenses/expenses$", "method": "POST", "delay_ms": 30000, "status": 503}
    (await stack.http.post(f"{stack.books}/_sandbox/faults", json=slow)).raise_for_status()
    card = [{"merchant": "Zoom", "amount": 1599, "category": "Office Supplies"},
            {"merchant": "Staples", "amount": 2350, "category": "Office Supplies"}]  # fmt: skip
    report = await stack.file(PRIYA, "Supplies run", [flight(5000)], card=card)
    await stack.poll()

    async def hanging() -> bool:
        """The bill is written and the first expense create is in the sandbox, hanging."""
        rules = (await stack.http.get(f"{stack.books}/_sandbox/faults")).json()
        fired = any(r["path"] == slow["path"] and r["fired"] for r in rules)
        return fired and len(await stack.bills(report)) == 1

    await wait_until(hanging, timeout_seconds=60, interval_seconds=0.1, message="mid-report")
    processes = ServiceProcesses(stack.plan)
    victim, env = processes.kill("freshbooks")
    await processes.restart(victim, env)
    # The killed process's report lease (20 s here) runs out, then the report is delivered
    # again to the restarted one.
    answers = await stack.answer(report, timeout_seconds=180)

    assert answers[-1]["status"] == "applied", answers
    assert answers[-1]["operation"] == "adopt_report+create_expense+create_expense"
    assert len(await stack.bills(report)) == 1
    assert len(await stack.expenses(report)) == 2
