"""Flow ``ap-bill`` played on the running stack: what ``make demo`` shows of it.

1. backfills: a reconcile of the FreshBooks connection, waited for until the bill service
   answered every FreshBooks bill (vendors first; a bill whose tax has no BILL account
   waits in the review queue);
2. a bill entered in FreshBooks (its callback reaches the ingest) appears in BILL with its
   vendor;
3. the owner pays it in BILL in two parts; the BILL sandbox's clock moves on and the
   payments clear (BILL notifies the ingest); each part is recorded against the FreshBooks
   bill, whose balance shows it: partly paid, then paid;
4. prints each FreshBooks bill beside its BILL copy and its FreshBooks balance, and the
   chain of one payment from BILL back to FreshBooks.

:func:`play` raises DemoFailedError with what was seen when a step did not happen.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

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
from devstack.stack import StackInfo
from services.runtime.audit_trail import format_chain, read_chain

__all__ = ["NAME", "play"]

NAME: Final = "ap-bill"
SOURCE, TARGET = next((f.source, f.target) for f in FLOWS if f.name == NAME)
DEADLINE_SECONDS: Final = 180.0
DAY: Final = 24 * 3600


async def _outcomes(
    info: StackInfo, *, service: str, connection_id: str
) -> dict[str, list[dict[str, Any]]]:
    """``service``'s outcomes of events of ``connection_id``, by entity, oldest first."""
    return await FlowLog(info.kafka, connection_id, service=service).outcomes()


def _settled(answers: list[dict[str, Any]]) -> dict[str, Any] | None:
    done = [a for a in answers if a.get("status") in ("applied", "unchanged", "needs_review")]
    return done[-1] if done else None


async def play(info: StackInfo) -> None:
    """Backfill, a new bill to BILL, its payment in two parts back to FreshBooks."""
    books, bill_pay = info.connections[SOURCE], info.connections[TARGET]
    await _backfill(info, books)
    bill_id, bill_pay_id = await _new_bill(info, books)
    total = await _fb_total(info, bill_id)
    half = round(total / 2, 2)
    payment = ""
    for part, amount in (("first part", half), ("rest", round(total - half, 2))):
        payment = await _pay(info, bill_pay, bill_pay_id, amount, part)
        balance = await _fb_bill(info, bill_id)
        note(
            f"FreshBooks bill {bill_id}: {balance['status']}, outstanding "
            f"{balance['outstanding']['amount']} of {balance['total_amount']['amount']}"
        )
    final = await _fb_bill(info, bill_id)
    if final["status"] != "paid":
        raise DemoFailedError(f"FreshBooks bill {bill_id} is {final['status']} after both parts")
    await _table(info)
    await _payment_chain(info, bill_pay, payment)
    print(
        "\nOK: FreshBooks bills reached BILL, and BILL's payment in two parts reached FreshBooks."
    )


async def _backfill(info: StackInfo, books: str) -> None:
    bills = [b for b in await sandbox_state(info.sandboxes[SOURCE], "bills") if b["vis_state"] == 0]
    step(f"backfilling {len(bills)} FreshBooks bills to BILL: a reconcile of FreshBooks")
    note(await request_reconcile(info, books))
    wanted = {str(b["id"]) for b in bills}

    async def check() -> tuple[bool | None, str]:
        outcomes = await _outcomes(info, service="bill", connection_id=books)
        answered = {k: _settled(v) for k, v in outcomes.items() if k in wanted}
        done = {k: v for k, v in answered.items() if v is not None}
        counts: dict[str, int] = {}
        for answer in done.values():
            counts[answer["status"]] = counts.get(answer["status"], 0) + 1
        shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none yet"
        return (True if set(done) == wanted else None), f"{len(done)}/{len(wanted)} bills ({shown})"

    await wait_with_progress("backfill", check, deadline_seconds=DEADLINE_SECONDS)
    outcomes = await _outcomes(info, service="bill", connection_id=books)
    for key in sorted(wanted):
        answer = _settled(outcomes.get(key, []))
        if answer is not None and answer["status"] == "needs_review":
            note(f"FreshBooks bill {key} waits in the review queue: {answer['detail']}")


async def _new_bill(info: StackInfo, books: str) -> tuple[int, str]:
    step("a bill entered in FreshBooks: Adobe, office supplies, 2 lines")
    created = await sandbox_action(
        info.sandboxes[SOURCE],
        "create_bill",
        {
            "vendorid": 101,
            "bill_number": "ADB-2026-118",
            "issue_date": "2026-11-20",
            "due_offset_days": 30,
            "currency_code": "USD",
            "lines": [
                {"categoryid": 3012, "description": "Paper and toner", "quantity": 1,
                 "unit_cost": {"amount": "184.20", "code": "USD"}},
                {"categoryid": 3025, "description": "Client visit, train", "quantity": 1,
                 "unit_cost": {"amount": "96.00", "code": "USD"}},
            ],
        },
    )  # fmt: skip
    bill_id = int(created["id"])
    note(f"FreshBooks bill {bill_id}: its bill.create callback goes to the ingest")

    async def written() -> tuple[str | None, str]:
        answers = (await _outcomes(info, service="bill", connection_id=books)).get(str(bill_id), [])
        done = _settled(answers)
        if done is None:
            return None, f"{len(answers)} answers"
        if done["status"] != "applied":
            raise DemoFailedError(f"the bill service answered {done}")
        return str(done["target_ids"]["bill"]), f"{done['status']} {done['operation']}"

    copy = await wait_with_progress("the bill in BILL", written, deadline_seconds=DEADLINE_SECONDS)
    note(f"BILL bill {copy}")
    return bill_id, copy


async def _pay(info: StackInfo, bill_pay: str, bill_id: str, amount: float, part: str) -> str:
    step(f"the owner pays the {part} in BILL: {amount:.2f}, and it clears")
    paid = await sandbox_action(
        info.sandboxes[TARGET], "pay_bill", {"bill_id": bill_id, "amount": amount}
    )
    await _advance_clock(info.sandboxes[TARGET], 3 * DAY)
    await sandbox_action(info.sandboxes[TARGET], "settle_payments", {})
    share = f"{paid['id']}:{paid['billPayments'][0]['id']}"

    async def recorded() -> tuple[str | None, str]:
        answers = (await _outcomes(info, service="freshbooks", connection_id=bill_pay)).get(
            share, []
        )
        done = _settled(answers)
        if done is None:
            return None, f"{len(answers)} answers"
        if done["status"] != "applied":
            raise DemoFailedError(f"the freshbooks service answered {done}")
        return share, f"{done['status']} {done['operation']}"

    return await wait_with_progress(
        f"payment {paid['id']} in FreshBooks", recorded, deadline_seconds=DEADLINE_SECONDS
    )


async def _advance_clock(url: str, seconds: int) -> None:
    async with httpx.AsyncClient(timeout=30.0) as client:
        answer = await client.post(f"{url}/_sandbox/clock", json={"advance_seconds": seconds})
    answer.raise_for_status()


async def _fb_bill(info: StackInfo, bill_id: int) -> dict[str, Any]:
    """The bill as FreshBooks keeps it (its balance recomputed after every payment)."""
    for bill in await sandbox_state(info.sandboxes[SOURCE], "bills"):
        if int(bill["id"]) == bill_id:
            return bill
    raise DemoFailedError(f"FreshBooks has no bill {bill_id}")


async def _fb_total(info: StackInfo, bill_id: int) -> float:
    return float((await _fb_bill(info, bill_id))["total_amount"]["amount"])


async def _table(info: StackInfo) -> None:
    step("FreshBooks bills beside their BILL copies")
    copies = {
        b["invoice"]["invoiceNumber"]: b
        for b in await sandbox_state(info.sandboxes[TARGET], "bills")
    }
    print(f"{'FreshBooks bill':<18}{'number':<16}{'FB status':<11}{'FB outstanding':>15}"
          f"  {'BILL bill':<22}{'BILL amount':>12}{'BILL due':>10}")  # fmt: skip
    for bill in await sandbox_state(info.sandboxes[SOURCE], "bills"):
        if bill["vis_state"] != 0:
            continue
        shown = bill
        number = str(bill.get("bill_number") or f"FB-{bill['id']}")
        copy = copies.get(number)
        bill_pay = (
            f"{copy['id']:<22}{copy['amount']:>12.2f}{copy['dueAmount']:>10.2f}"
            if copy
            else "(not in BILL: see the review queue)"
        )
        print(f"{bill['id']!s:<18}{number:<16}{shown['status']:<11}"
              f"{shown['outstanding']['amount']:>15}  {bill_pay}", flush=True)  # fmt: skip


async def _payment_chain(info: StackInfo, bill_pay: str, share: str) -> None:
    step(f"the chain of payment {share}: BILL's notification to the FreshBooks bill payment")
    outcomes = (await _outcomes(info, service="freshbooks", connection_id=bill_pay)).get(share, [])
    written = next((o for o in outcomes if o.get("status") == "applied"), None)
    if written is None:
        raise DemoFailedError(f"no FreshBooks write for payment {share}")
    chain = await read_chain(
        info.kafka,
        str(written.get("correlation_id")),
        topics=["raw.bill", "ap.payment", "sync.outcome"],
    )
    print(format_chain(chain), flush=True)
    if len(chain) < 3:
        raise DemoFailedError(f"the chain of {share} has {len(chain)} events, not 3 or more")
