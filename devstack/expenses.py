"""Flow ``expenses`` played on the running stack: what ``make demo`` shows of it.

1. two reports are filed and approved in the Expensify sandbox: Priya's trip (a flight she
   paid and a WeWork day pass on her corporate card: every category maps) and Hannah's
   client gifts (a category whose GL code names nothing in FreshBooks);
2. ``mlc connections sync``: the next poll of Expensify (the seed's approved reports come
   along, booked or waiting as they are);
3. Priya's report is a FreshBooks bill to her (a new bill vendor) and an expense; Hannah's
   waits in the review queue with its note, nothing written;
4. the bookkeeper maps the category and re-drives the item, with the real CLI
   (``mlc mappings set``, ``mlc review redrive``); Hannah's report is then booked;
5. both are in FreshBooks once; the chain of Hannah's report is printed.

:func:`play` raises DemoFailedError with what was seen when a step did not happen.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any, Final

from devstack.driving import (
    DemoFailedError,
    note,
    request_reconcile,
    sandbox_action,
    sandbox_state,
    step,
    wait_with_progress,
)
from devstack.flows import FLOWS
from devstack.people_flows import FlowLog
from devstack.stack import ROOT, StackInfo
from services.runtime.audit_trail import format_chain, read_chain
from services.runtime.store import StateStore

__all__ = ["NAME", "play"]

NAME: Final = "expenses"
SOURCE, TARGET = next((f.source, f.target) for f in FLOWS if f.name == NAME)
DEADLINE_SECONDS: Final = 180.0
SETTLED: Final = ("applied", "unchanged", "needs_review")
PRIYA: Final = "priya.raman@acmecreative.example"
HANNAH: Final = "hannah.kim@acmecreative.example"
PRIYA_CARD: Final = "5312343"
GIFTS: Final = "Client Gifts"
GIFTS_TO: Final = "Other Expenses"  # the FreshBooks category the bookkeeper chooses


async def play(info: StackInfo) -> None:
    """Two approved reports: one booked at once, one after its mapping is fixed."""
    link = next(x["id"] for x in info.links if x.get("flow") == NAME)
    trip = await _file(
        info,
        PRIYA,
        "Globex kickoff, Cleveland",
        expenses=[{"merchant": "United Airlines", "amount": 41230, "category": "Airfare",
                   "created": "2026-11-17", "tag": "Client Services"}],
        card=[{"merchant": "WeWork", "amount": 25000, "category": "Office Supplies",
               "created": "2026-11-18", "tag": "Client Services"}],
    )  # fmt: skip
    gifts = await _file(
        info,
        HANNAH,
        "Holiday gifts for Globex",
        expenses=[{"merchant": "Harry & David", "amount": 18900, "category": GIFTS,
                   "created": "2026-11-19", "comment": "Gift baskets, Globex team"}],
    )  # fmt: skip
    step("the next poll of Expensify: mlc connections sync")
    note(await request_reconcile(info, info.connections[SOURCE]))
    booked = await _answer(info, trip, "Priya's report")
    if booked["status"] != "applied":
        raise DemoFailedError(f"Priya's report was not booked: {booked}")
    await _show_in_freshbooks(info, trip)
    waiting = await _answer(info, gifts, "Hannah's report")
    if waiting["status"] != "needs_review":
        raise DemoFailedError(f"Hannah's report should wait for a person: {waiting}")
    note(f"Hannah's report waits for a person: {waiting['detail']}")
    item = await _review_item(info, gifts)
    step("the bookkeeper fixes the mapping and re-drives the report, with the CLI")
    await _mlc(info, "review", "list", "--link", link)
    await _mlc(info, "mappings", "set", "--link", link, "--kind", "category", GIFTS, GIFTS_TO)
    await _mlc(info, "review", "redrive", str(item))
    redriven = await _answer(info, gifts, "Hannah's report, re-driven", status="applied")
    note(f"booked: {redriven['operation']}")
    await _show_in_freshbooks(info, gifts)
    await _chain(info, redriven)
    print("\nOK: both approved reports are in FreshBooks once, one after its mapping was fixed.")


async def _file(
    info: StackInfo,
    email: str,
    title: str,
    *,
    expenses: list[dict[str, Any]],
    card: list[dict[str, Any]] | None = None,
) -> str:
    """The employee files the report and the approver approves it; its report id."""
    sandbox = info.sandboxes[SOURCE]
    attach: list[str] = []
    if card:
        posted = await sandbox_action(
            sandbox, "import_card_transactions", {"cardID": PRIYA_CARD, "transactions": card}
        )
        attach = [t["transactionID"] for t in posted["transactionList"]]
    filed = await sandbox_action(
        sandbox,
        "submit_report",
        {"employeeEmail": email, "title": title, "expenses": expenses, "transactionIDs": attach},
    )
    report_id = str(filed["reportID"])
    await sandbox_action(sandbox, "approve_report", {"reportID": report_id})
    step(f"{email} filed {title!r} (report {report_id}); it is approved")
    return report_id


async def _answer(
    info: StackInfo, report_id: str, what: str, *, status: str | None = None
) -> dict[str, Any]:
    """The freshbooks service's newest settled answer for the report (of ``status``)."""
    log = FlowLog(info.kafka, info.connections[SOURCE], service=TARGET)

    async def answered() -> tuple[dict[str, Any] | None, str]:
        answers = (await log.outcomes()).get(report_id, [])
        done = [a for a in answers if a.get("status") in SETTLED]
        if status is not None:
            done = [a for a in done if a.get("status") == status]
        if not done:
            return None, f"{len(answers)} answers"
        return done[-1], str(done[-1]["status"])

    return await wait_with_progress(what, answered, deadline_seconds=DEADLINE_SECONDS)


async def _review_item(info: StackInfo, report_id: str) -> int:
    store = await StateStore.open(info.database_url)
    try:
        async with store.transaction() as repos:
            items = await repos.review_queue.list(status="open", limit=1000)
    finally:
        await store.close()
    for item in items:
        if item.payload.get("entity_key") == report_id:
            return item.id
    raise DemoFailedError(f"no open review item for report {report_id}")


async def _mlc(info: StackInfo, *args: str) -> None:
    """Run the real CLI on the stack's store and broker, showing the command and its output."""
    shown = " ".join(f"'{a}'" if " " in a else a for a in args)
    print(f"$ mlc {shown}", flush=True)
    env = {
        **os.environ,
        "MLC_DATABASE_URL": info.database_url,
        "MLC_KAFKA_BOOTSTRAP_SERVERS": info.kafka,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mlc", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    print(output.decode(errors="replace").rstrip(), flush=True)
    if process.returncode != 0:
        raise DemoFailedError(f"mlc {shown} exited with status {process.returncode}")


async def _show_in_freshbooks(info: StackInfo, report_id: str) -> None:
    books = info.sandboxes[TARGET]
    bills = [b for b in await sandbox_state(books, "bills")
             if b.get("bill_number") == f"EXP-{report_id}" and b["vis_state"] == 0]  # fmt: skip
    marker = f"[Expensify {report_id}/"
    expenses = [e for e in await sandbox_state(books, "expenses")
                if marker in str(e.get("notes") or "") and e["vis_state"] == 0]  # fmt: skip
    vendors = {v["vendorid"]: v["vendor_name"] for v in await sandbox_state(books, "bill_vendors")}
    for bill in bills:
        note(f"FreshBooks bill {bill['id']} {bill['bill_number']} to "
             f"{vendors.get(bill['vendorid'])}: {bill['total_amount']['amount']} "
             f"{bill['currency_code']}, {len(bill['lines'])} line(s)")  # fmt: skip
    for expense in expenses:
        note(f"FreshBooks expense {expense['id']}: {expense['amount']['amount']} "
             f"{expense['amount']['code']} at {expense.get('vendor')}")  # fmt: skip
    if len(bills) > 1 or len({e["notes"] for e in expenses}) != len(expenses):
        raise DemoFailedError(f"report {report_id} is in FreshBooks more than once")
    if not bills and not expenses:
        raise DemoFailedError(f"report {report_id} is not in FreshBooks")


async def _chain(info: StackInfo, outcome: dict[str, Any]) -> None:
    step("the chain of Hannah's report: the poll, the report, the review, the booking")
    chain = await read_chain(
        info.kafka,
        str(outcome.get("correlation_id")),
        topics=["raw.expensify", "expense.report", "sync.outcome"],
    )
    print(format_chain(chain), flush=True)
