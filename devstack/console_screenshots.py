"""``python -m devstack.console_screenshots`` (``make screenshots``): the console's pages as
PNGs in ``docs/console/``, shown in the README.

It starts a stack of flows 1 and 5 (as ``make demo`` does, on free ports), plays both
flows' demos so the pages have something to show, leaves one hire dead-lettered (FreshBooks
refuses its invitation) and one expense report waiting for a person, then signs in with
headless Chromium and takes each page. Exit 0 when every page was taken, 1 with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Final

import httpx
from playwright.async_api import Page, ViewportSize

from devstack import expenses, people_freshbooks
from devstack.console_browser import ROOT, chromium, chromium_path, sign_in
from devstack.driving import DemoFailedError, request_reconcile, sandbox_action, sandbox_state, step
from devstack.stack import StackError, StackInfo, StackPlan, start_stack, stop_stack
from sandboxes.kit import wait_until

__all__ = ["main", "take_screenshots"]

OUT: Final = ROOT / "docs" / "console"
FLOWS: Final = (people_freshbooks.NAME, expenses.NAME)
INVITATION: Final = "/auth/api/v1/users/invitation"
_VIEWPORT: Final[ViewportSize] = {"width": 1280, "height": 860}
_WAIT_S: Final = 120.0


async def take_screenshots(info: StackInfo, out: Path) -> list[Path]:
    """Make the pages worth looking at, then take each one into ``out``."""
    for play in (people_freshbooks.play, expenses.play):
        await play(info)
    employee_id = await _dead_lettered_hire(info)
    report = await _report_waiting_for_a_person(info)
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    taken = []
    async with chromium(await asyncio.to_thread(chromium_path)) as browser:
        page = await browser.new_page(viewport=_VIEWPORT)
        await page.goto(f"{info.control}/console/sign-in")
        taken.append(await _shot(page, out, "sign-in"))
        await sign_in(page, info.control, info.operator_token)
        base = f"{info.control}/console"
        await _until_shown(page, f"{base}/dead-letters", f"tr:has-text('{employee_id}')")
        await _until_shown(page, f"{base}/review", f"article.review-item:has-text('{report}')")
        for name, path in (
            ("links", "links"),
            ("connections", "connections"),
            ("record", f"record?q=bamboohr:{await _hired_ada(info)}"),
            ("review", "review"),
            ("dead-letters", "dead-letters"),
        ):
            await page.goto(f"{base}/{path}")
            taken.append(await _shot(page, out, name))
    return taken


async def _shot(page: Page, out: Path, name: str) -> Path:
    path = out / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    step(f"took {path.relative_to(ROOT)}")
    return path


async def _until_shown(page: Page, url: str, selector: str) -> None:
    async def shown() -> bool:
        await page.goto(url)
        return await page.locator(selector).count() > 0

    await wait_until(shown, timeout_seconds=_WAIT_S, interval_seconds=1, message=selector)


async def _hired_ada(info: StackInfo) -> str:
    employees = await sandbox_state(info.sandboxes["bamboohr"], "employees")
    return str(next(e["id"] for e in employees if e.get("lastName") == "Lovelace"))


async def _dead_lettered_hire(info: StackInfo) -> str:
    """A hire FreshBooks refuses to invite until its retries run out: one dead letter."""
    freshbooks = info.sandboxes["freshbooks"]
    fault = {"path": INVITATION, "method": "POST", "status": 500, "count": 1000}
    async with httpx.AsyncClient(timeout=30.0) as http:
        answer = await http.post(f"{freshbooks}/_sandbox/faults", json=fault)
        if not answer.is_success:
            raise DemoFailedError(f"the FreshBooks sandbox refused the fault: {answer.text}")
        try:
            hired = await sandbox_action(
                info.sandboxes["bamboohr"],
                "hire",
                {
                    "firstName": "Katherine",
                    "lastName": "Johnson",
                    "workEmail": "katherine.johnson@acmecreative.example",
                    "department": "Engineering",
                    "jobTitle": (await _engineer_title(info)),
                },
            )
            employee_id = str(hired["id"])
            step("waiting for FreshBooks' refusals to dead-letter the hire")
            await wait_until(
                lambda: _dead_letter_count(info, http),
                timeout_seconds=_WAIT_S,
                interval_seconds=1,
                message="the hire's dead letter",
            )
        finally:
            await http.delete(f"{freshbooks}/_sandbox/faults")
    return employee_id


async def _engineer_title(info: StackInfo) -> str:
    employees = await sandbox_state(info.sandboxes["bamboohr"], "employees")
    return str(next(e["jobTitle"] for e in employees if e.get("department") == "Engineering"))


async def _dead_letter_count(info: StackInfo, http: httpx.AsyncClient) -> int | None:
    answer = await http.get(
        f"{info.control}/api/v1/status",
        headers={"Authorization": f"Bearer {info.operator_token}"},
    )
    counts = [s.get("dead_letters") or 0 for s in answer.json()["links"]]
    return sum(counts) or None


async def _report_waiting_for_a_person(info: StackInfo) -> str:
    """An approved report with a category nobody mapped: it waits in the review queue."""
    filed = await sandbox_action(
        info.sandboxes["expensify"],
        "submit_report",
        {
            "employeeEmail": "chloe.martin@acmecreative.example",
            "title": "Client dinner, Globex",
            "expenses": [{"merchant": "Le Bernardin", "amount": 32150, "category": "Client Meals"}],
            "transactionIDs": [],
        },
    )
    report = str(filed["reportID"])
    await sandbox_action(info.sandboxes["expensify"], "approve_report", {"reportID": report})
    await request_reconcile(info, info.connections["expensify"])
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    args = parser.parse_args(argv)
    plan = StackPlan.for_demo(
        {**os.environ, "DEMO_RUN_DIR": str(ROOT / ".run" / "screenshots")}, FLOWS
    )

    async def run() -> None:
        try:
            info = await start_stack(plan, print)
            await take_screenshots(info, args.out)
        finally:
            await asyncio.to_thread(stop_stack, plan, print)

    try:
        asyncio.run(run())
    except (DemoFailedError, StackError, TimeoutError) as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
