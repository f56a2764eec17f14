"""`make demo` must keep working: run it on the test session's broker and read what it shows."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path


async def test_the_demo_plays_every_flow_and_shows_it_in_each_target(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DEMO_RUN_DIR": str(tmp_path)}
    env.pop("MLC_KAFKA_BOOTSTRAP_SERVERS", None)
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devstack.demo",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(demo.communicate(), timeout=600)
    text = output.decode()
    assert demo.returncode == 0, text
    assert "OK: backfill, hire, department change and termination reached FreshBooks." in text
    assert (
        "OK: backfill, hire, job-title change and termination reached Zoho Books; a list "
        "option added on each side reached the other." in text
    )
    assert (
        "OK: backfill, a hire into a new department, a move and a termination reached "
        "Acumatica." in text
    )
    assert (
        "OK: FreshBooks bills reached BILL, and BILL's payment in two parts reached FreshBooks."
        in text
    )
    assert (
        "OK: both approved reports are in FreshBooks once, one after its mapping was fixed." in text
    )
    freshbooks, later = text.split("==> flow people-zoho", 1)
    zoho, later = later.split("==> flow people-acumatica", 1)
    acumatica, later = later.split("==> flow ap-bill", 1)
    ap_bill, expenses = later.split("==> flow expenses", 1)

    # Flow 1's table: 40 seeded employees and the hire, each beside a FreshBooks outcome.
    rows = _rows(freshbooks, "hired|moved|left")
    assert len(rows) == 41, freshbooks
    marked = {mark: rest for mark, _, rest in rows if mark.strip()}
    assert "Ada Lovelace" in marked["hired"]
    assert "team member" in marked["hired"]
    assert "applied" in marked["hired"]
    assert "Terminated" in marked["left"]
    assert re.search(r"deleted|deactivated", marked["left"])
    moved_to = re.search(r"department change in BambooHR: .* -> (.+)$", text, flags=re.MULTILINE)
    assert moved_to is not None
    assert moved_to.group(1).strip() in marked["moved"]
    _check_chain(freshbooks, r"-> (team_member|staff)=\S+")

    # Flow 2's table: everyone (flow 1's hire too) beside a Zoho contact; the leaver inactive.
    rows = _rows(zoho, "hired|new title|left")
    assert len(rows) == 42, zoho
    marked = {mark: rest for mark, _, rest in rows if mark.strip()}
    assert "Grace Hopper" in marked["hired"]
    assert re.search(r"\d{10,} Grace Hopper", marked["hired"])
    assert "applied create_contact" in marked["hired"]
    assert "inactive" in marked["left"]
    new_title = re.search(r"job-title change in BambooHR: .* -> (.+)$", zoho, flags=re.MULTILINE)
    assert new_title is not None
    assert marked["new title"].count(new_title.group(1).strip()) == 2  # BambooHR and Zoho
    _check_chain(zoho, r"-> contact=\d+")

    # Flow 3's table: everyone beside an Acumatica Employee; the hire's department made first.
    rows = _rows(acumatica, "hired|moved|left")
    assert len(rows) == 43, acumatica
    marked = {mark: rest for mark, _, rest in rows if mark.strip()}
    assert "Katherine Johnson" in marked["hired"]
    assert "RESEARCH" in marked["hired"]
    # Departments first: the list's department was created before the hire was written.
    assert re.search(r"department 'Research' -> applied create_department: RESEARCH", acumatica)
    assert "applied create_employee" in marked["hired"]
    assert "Inactive" in marked["left"]
    assert "deactivate_employee" in marked["left"]
    moved = re.search(r"a move in BambooHR: .* -> (.+)$", acumatica, flags=re.MULTILINE)
    assert moved is not None
    assert moved.group(1).strip() in marked["moved"]
    _check_chain(acumatica, r"-> employee=EP\d+")

    # Flow 4: the new bill in BILL, paid there in two parts, partial then paid in FreshBooks.
    balances = re.findall(r"FreshBooks bill (\d+): (\w+), outstanding ([\d.]+) of", ap_bill)
    assert [status for _, status, _ in balances] == ["partial", "paid"], ap_bill
    new_bill = balances[0][0]
    [row] = [line for line in ap_bill.splitlines() if line.startswith(f"{new_bill} ")]
    assert re.search(r"paid\s+0\.00\s+00n\w+\s+280\.20\s+0\.00$", row), row
    assert "(not in BILL: see the review queue)" in ap_bill  # the taxed bill waits
    assert re.search(r"- BillPaid \[ap\.payment#\d+@\d+\]", ap_bill)
    assert re.search(
        r"- SyncOutcome \[sync\.outcome#\d+@\d+\].* status=applied .*create_bill_payment applied",
        ap_bill,
    )
    # Flow 5: Priya's report a bill and an expense; Hannah's reviewed, re-driven, then a bill.
    assert re.search(r"FreshBooks bill \d+ EXP-\d+ to Priya Raman: 412\.30 USD", expenses)
    assert re.search(r"FreshBooks expense \d+: 250\.00 USD at WeWork", expenses)
    assert "Hannah's report: needs_review" in expenses
    assert "no FreshBooks expense category for Client Gifts (GL 6250)" in expenses
    assert "$ mlc mappings set --link" in expenses
    assert re.search(r"re-drove review item \d+: ExpenseReportApproved", expenses)
    assert re.search(r"FreshBooks bill \d+ EXP-\d+ to Hannah Kim: 189\.00 USD", expenses)
    chain = expenses.split("the chain of Hannah's report", 1)[1]
    assert chain.rindex("status=applied") > chain.index("status=needs_review"), chain
    # Everything it started was stopped again.
    assert not list((tmp_path / "pids").glob("*.json"))


def _rows(text: str, marks: str) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = re.findall(
        rf"^({marks}|     |         )\s+(\d+)\s+(.*)$", text, flags=re.MULTILINE
    )
    return found


def _check_chain(text: str, written_to: str) -> None:
    """The audit chain of the hire: what started it, the published change, the write."""
    chain = text.split("audit chain of the new hire", 1)[1]
    lines = [line.strip() for line in chain.splitlines() if line.lstrip().startswith("- ")]
    kinds = [line.split(" ")[1] for line in lines]
    assert kinds[0] in ("RawDelivery", "ReconcileTick")
    assert "EmployeeChanged" in kinds
    written = [line for line in lines if line.startswith("- SyncOutcome") and "applied" in line]
    assert any(re.search(written_to, line) for line in written), chain
