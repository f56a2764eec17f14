"""The operator console in a real browser (Debian's headless Chromium, driven by Playwright)
against the running dev stack of flows 1 and 5: sign in, the links page with flow 1's
outcomes, a record's chain, a dead letter replayed and a review item fixed by clicking,
an OAuth connection reconnected in place through the vendor's consent page, and bad input
(a wrong token, a forged form token, an expired session, HTML in a name)
answered with a clear page and nothing changed. No request a page makes may be a 5xx.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Response, Route, expect

from devstack.console_browser import chromium, sign_in
from devstack.stack import StackInfo, StackPlan, start_stack, stop_stack
from sandboxes.kit import wait_until
from services.runtime.store import StateStore
from tests.e2e.flow_people_stack import PeopleFlowStack
from tests.e2e.test_flow_expenses_e2e import CHLOE

T = TypeVar("T")
PAGES = ("links", "connections", "record", "review", "dead-letters")
INVITATION = "/auth/api/v1/users/invitation"
WAIT_S = 120.0


@dataclass
class Console:
    """The stack, a browser on it, and every 5xx any page of it was answered with."""

    info: StackInfo
    browser: Browser
    http: httpx.AsyncClient
    server_errors: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    """Requests a page made to any other origin (a CDN, say): there must be none."""

    @property
    def url(self) -> str:
        return f"{self.info.ingest}/console"

    def watch(self, page: Page) -> Page:
        def seen(response: Response) -> None:
            if response.status >= 500:
                self.server_errors.append(f"{response.status} {response.url}")

        def asked(request: Any) -> None:
            # A person's own step to a vendor's consent page is a navigation, not an asset.
            if request.is_navigation_request():
                return
            if not str(request.url).startswith(self.info.ingest):
                self.elsewhere.append(str(request.url))

        page.on("response", seen)
        page.on("request", asked)
        return page

    async def context(self) -> BrowserContext:
        return await self.browser.new_context(viewport={"width": 1280, "height": 900})

    async def signed_in(self, context: BrowserContext) -> Page:
        page = self.watch(await context.new_page())
        await sign_in(page, self.info.ingest, self.info.operator_token)
        return page

    async def connection_ids(self) -> set[str]:
        store = await StateStore.open(self.info.database_url, run_migrations=False)
        try:
            async with store.transaction() as tx:
                return {record.id for record in await tx.connections.list()}
        finally:
            await store.close()

    async def audit_actions(self) -> list[str]:
        store = await StateStore.open(self.info.database_url, run_migrations=False)
        try:
            async with store.transaction() as tx:
                return [entry.action for entry in await tx.audit_log.list(limit=1000)]
        finally:
            await store.close()


@pytest.fixture(scope="module")
async def console(
    kafka_bootstrap: str, chromium_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Console]:
    run_dir = tmp_path_factory.mktemp("console-stack")
    plan = StackPlan.for_demo(
        {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DEMO_RUN_DIR": str(run_dir)},
        ["people-freshbooks", "expenses"],
    )
    try:
        info = await start_stack(plan, lambda _: None)
        async with chromium(chromium_executable) as browser, httpx.AsyncClient(timeout=30) as http:
            # Flow 1's own backfill answered first: a fault a test sets must meet only the
            # writes that test causes.
            await PeopleFlowStack(plan, info, http).backfilled()
            made = Console(info, browser, http)
            yield made
            assert made.server_errors == [], "no page request may be answered 5xx"
            assert made.elsewhere == [], "every asset is served by the console itself"
    finally:
        await asyncio.to_thread(stop_stack, plan, lambda _: None)


async def _until(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    return await wait_until(check, timeout_seconds=WAIT_S, interval_seconds=0.5, message=what)


async def _hire(console: Console, first: str, last: str) -> str:
    bamboohr = console.info.sandboxes["bamboohr"]
    employees = (await console.http.get(f"{bamboohr}/_sandbox/state/employees")).json()
    engineer = next(e for e in employees if e["department"] == "Engineering")
    hired = await console.http.post(
        f"{bamboohr}/_sandbox/actions/hire",
        json={
            "firstName": first,
            "lastName": last,
            "workEmail": f"{first}.{last}@acmecreative.example".lower(),
            "department": "Engineering",
            "jobTitle": engineer["jobTitle"],
        },
    )
    assert hired.is_success, hired.text
    return str(hired.json()["id"])


async def _team_members(console: Console, email: str) -> list[dict[str, Any]]:
    freshbooks = console.info.sandboxes["freshbooks"]
    members = (await console.http.get(f"{freshbooks}/_sandbox/state/team_members")).json()
    return [m for m in members if m["email"] == email]


async def test_signed_out_every_page_sends_to_sign_in_and_a_wrong_token_is_refused(
    console: Console,
) -> None:
    context = await console.context()
    page = console.watch(await context.new_page())
    for name in PAGES:
        await page.goto(f"{console.url}/{name}")
        assert page.url.startswith(f"{console.url}/sign-in?next=%2Fconsole%2F{name}"), page.url
    await page.fill("#token", "not-the-token")
    await page.click("button[type=submit]")

    await expect(page.locator("p.error")).to_contain_text("That is not the operator token")
    assert "/console/sign-in" in page.url
    assert await context.cookies() == []
    assert "console.sign_in_refused" in await console.audit_actions()
    await context.close()


async def test_signed_in_every_page_loads_and_links_shows_flow_1_with_its_outcomes(
    console: Console,
) -> None:
    context = await console.context()
    page = await console.signed_in(context)
    [cookie] = await context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/console")
    for name in PAGES:
        answer = await page.goto(f"{console.url}/{name}")
        assert answer is not None
        assert answer.status == 200, name
        await expect(page.locator("h1")).to_be_visible()
    await page.goto(f"{console.url}/links")
    flow_1 = page.locator("article.link", has_text="people-freshbooks")
    # The demo stack's backfill is flow 1's first outcomes: the card shows them once folded.
    await expect(flow_1.locator(".day-counts")).to_contain_text("applied", timeout=WAIT_S * 1000)
    await expect(flow_1.locator(".last-outcome")).not_to_contain_text("none yet")
    assert await flow_1.locator("svg.chart rect").count() >= 1
    await context.close()


async def test_a_record_is_found_by_id_and_by_email_and_its_chain_drawn_to_the_target_id(
    console: Console,
) -> None:
    employee_id = await _hire(console, "Mary", "Jackson")
    email = "mary.jackson@acmecreative.example"
    await _until(lambda: _team_members(console, email), "Mary invited in FreshBooks")
    context = await console.context()
    page = await console.signed_in(context)

    async def chain_shown(query: str) -> bool:
        await page.goto(f"{console.url}/record?q={query}")
        return await page.locator(".timeline .step.status-applied").count() > 0

    await _until(lambda: chain_shown(f"bamboohr:{employee_id}"), "the chain of the hire")
    steps = page.locator(".timeline .step")
    await expect(steps.first).to_contain_text("webhook received from bamboohr")
    await expect(page.locator(".timeline")).to_contain_text("written by freshbooks")
    target = page.locator("a.target-id").first
    await expect(target).to_contain_text("freshbooks")
    await _until(lambda: chain_shown(email), "the chain found by email")
    await expect(page.locator(".chain h2").first).to_contain_text(f"bamboohr:{employee_id}")
    await context.close()


async def test_a_dead_letter_is_replayed_by_clicking_once_its_cause_is_fixed(
    console: Console,
) -> None:
    freshbooks = console.info.sandboxes["freshbooks"]
    fault = {"path": INVITATION, "method": "POST", "status": 500, "count": 1000}
    assert (await console.http.post(f"{freshbooks}/_sandbox/faults", json=fault)).is_success
    try:
        employee_id = await _hire(console, "Dorothy", "Vaughan")
        record = f"{console.info.connections['bamboohr']}:{employee_id}"
        context = await console.context()
        page = await console.signed_in(context)

        async def letter_listed() -> bool:
            await page.goto(f"{console.url}/dead-letters")
            return await page.locator("tr", has_text=record).count() > 0

        await _until(letter_listed, "the failed invitation on the dead-letters page")
    finally:
        assert (await console.http.delete(f"{freshbooks}/_sandbox/faults")).is_success
    row = page.locator("tr", has_text=record)
    await expect(row.locator(".cause")).to_contain_text("500")
    await row.get_by_role("button", name="Replay").click()
    await expect(page.locator("p.notice")).to_contain_text("replayed to people.employee")
    email = "dorothy.vaughan@acmecreative.example"
    await _until(lambda: _team_members(console, email), "Dorothy invited after the replay")

    # Once only: a second click without "again" is refused and writes nothing.
    row = page.locator("tr", has_text=record)
    await expect(row.locator(".badge")).to_have_text("replayed")
    await row.get_by_role("button", name="Replay").click()
    await expect(page.locator("p.error")).to_contain_text("already replayed")
    assert len(await _team_members(console, email)) == 1
    assert "dead_letter.replayed" in await console.audit_actions()
    await context.close()


async def test_an_oauth_connection_is_reconnected_in_place_from_its_row(
    console: Console,
) -> None:
    connection_id = console.info.connections["freshbooks"]
    context = await console.context()
    ingest = urlsplit(console.info.ingest)

    async def to_the_ingest(route: Route) -> None:
        # The app's registered callback names localhost:8080, where a deployed ingest
        # listens; this one listens elsewhere, so that hop is sent on to it.
        asked = urlsplit(route.request.url)
        here = urlunsplit(asked._replace(netloc=ingest.netloc))
        await route.fulfill(status=302, headers={"location": here})

    await context.route("http://localhost:8080/**", to_the_ingest)
    before = await console.connection_ids()
    page = await console.signed_in(context)
    await page.goto(f"{console.url}/connections")
    row = page.locator(f"tr[data-connection='{connection_id}']")
    # Key/password connections have no consent to renew.
    expensify = console.info.connections["expensify"]
    await expect(page.locator(f"tr[data-connection='{expensify}']")).to_have_count(1)
    await expect(
        page.locator(f"tr[data-connection='{expensify}']").get_by_role("button", name="Reconnect")
    ).to_have_count(0)

    await row.get_by_role("button", name="Reconnect").click()
    await expect(page.locator("main")).to_contain_text(f"Reconnecting {connection_id}")
    await page.get_by_role("link", name="Open freshbooks's consent page").click()

    # The sandbox's consent page approves at once and sends the browser to the callback.
    await expect(page.locator("body")).to_contain_text("Connected. You can close this window.")
    await page.goto(f"{console.url}/connections")
    await expect(row.locator(".state")).to_have_text("active")
    actions = await console.audit_actions()
    assert actions.index("oauth.reconnected") < actions.index("oauth.reconnect_started")
    assert await console.connection_ids() == before  # the same connections, none added
    await context.close()


async def test_a_review_item_appears_live_and_is_fixed_in_place_and_redriven(
    console: Console,
) -> None:
    context = await console.context()
    page = await console.signed_in(context)
    await page.goto(f"{console.url}/review")
    expensify = console.info.sandboxes["expensify"]
    filed = await console.http.post(
        f"{expensify}/_sandbox/actions/submit_report",
        json={
            "employeeEmail": CHLOE,
            "title": "Client gifts for the console",
            "expenses": [{"merchant": "Harry & David", "amount": 9900, "category": "Client Gifts"}],
            "transactionIDs": [],
        },
    )
    assert filed.is_success, filed.text
    report = str(filed.json()["reportID"])
    approved = await console.http.post(
        f"{expensify}/_sandbox/actions/approve_report", json={"reportID": report}
    )
    assert approved.is_success, approved.text
    synced = await console.http.post(
        f"{console.info.ingest}/api/v1/connections/{console.info.connections['expensify']}/sync",
        headers={"Authorization": f"Bearer {console.info.operator_token}"},
    )
    assert synced.is_success, synced.text

    # No reload: the open list refreshes itself.
    item = page.locator("article.review-item", has_text=report)
    await expect(item).to_be_visible(timeout=WAIT_S * 1000)
    fix = item.locator("form.fix", has_text="Client Gifts")
    await fix.locator("input[name=target_value]").fill("Other Expenses")
    await fix.get_by_role("button", name="Save mapping and re-drive").click()
    await expect(page.locator("p.notice")).to_contain_text("re-driven")

    freshbooks = console.info.sandboxes["freshbooks"]

    async def booked() -> list[dict[str, Any]] | None:
        bills = (await console.http.get(f"{freshbooks}/_sandbox/state/bills")).json()
        mine = [b for b in bills if b.get("bill_number") == f"EXP-{report}"]
        return mine or None

    assert len(await _until(booked, "the report booked after the fix")) == 1
    closed = page.locator("table.closed tr", has_text=report)
    await expect(closed).to_contain_text("redriven", timeout=WAIT_S * 1000)
    actions = await console.audit_actions()
    assert actions.index("review.redriven") < actions.index("mapping.set"), "newest first"
    await context.close()


async def test_bad_input_is_answered_with_a_clear_page_and_changes_nothing(
    console: Console,
) -> None:
    context = await console.context()
    page = await console.signed_in(context)
    connections_before = await console.http.get(
        f"{console.info.ingest}/api/v1/connections",
        headers={"Authorization": f"Bearer {console.info.operator_token}"},
    )
    victim = console.info.connections["expensify"]

    # A forged form token (what a page elsewhere would post): 403, nothing removed.
    forged = await page.request.post(
        f"{console.url}/connections/{victim}/remove",
        form={"form_token": "forged", "confirm": victim},
    )
    assert forged.status == 403
    assert "Nothing was changed" in await forged.text()
    assert "console.form_refused" in await console.audit_actions()

    # HTML in a name and in a search is shown as text, never as markup.
    await page.goto(f"{console.url}/record?q=<b>bold</b>:1")
    await expect(page.locator("p.error")).to_contain_text("<b>bold</b>")
    assert await page.locator("main b").count() == 0
    await page.goto(f"{console.url}/connections")
    spec_form = page.locator("section.card", has=page.locator("input[value=expensify]"))
    await spec_form.locator("input[name=display_name]").fill("<i>Acme & Co</i>")
    await spec_form.locator("input[name='field:partner_user_id']").fill("x")
    await spec_form.locator("input[name='field:partner_user_secret']").fill("y")
    await spec_form.locator("input[name='field:policy_id']").fill("z")
    await spec_form.get_by_role("button").click()
    added = page.locator("table.connections td", has_text="<i>Acme & Co</i>")
    await expect(added).to_have_count(1)
    assert await page.locator("table.connections i").count() == 0

    # The session ends (expired in the store): a form is refused, a page asks to sign in.
    store = await StateStore.open(console.info.database_url, run_migrations=False)
    try:
        from sqlalchemy import update  # noqa: PLC0415 - this test's one raw statement

        from services.runtime.store.tables import console_sessions  # noqa: PLC0415

        async with store.transaction() as tx:
            await tx.connection.execute(
                update(console_sessions).values(expires_at=console_sessions.c.created_at)
            )
    finally:
        await store.close()
    await page.goto(f"{console.url}/connections")
    assert page.url.startswith(f"{console.url}/sign-in"), page.url
    expired = await page.request.post(
        f"{console.url}/connections/{victim}/remove", form={"form_token": "x", "confirm": victim}
    )
    assert expired.status == 401
    assert "Your session has ended" in await expired.text()
    connections_after = await console.http.get(
        f"{console.info.ingest}/api/v1/connections",
        headers={"Authorization": f"Bearer {console.info.operator_token}"},
    )
    assert connections_before.is_success, connections_before.text
    assert connections_after.is_success, connections_after.text
    before = {c["id"] for c in connections_before.json()["connections"]}
    after = {c["id"] for c in connections_after.json()["connections"]}
    assert before <= after, "nothing was removed"
    await context.close()


async def test_signing_out_ends_the_session_for_its_cookie(console: Console) -> None:
    context = await console.context()
    page = await console.signed_in(context)
    [cookie] = await context.cookies()
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{console.url}/sign-in?notice=Signed+out.")
    # The old cookie, put back by hand (as a thief would): it signs nobody in.
    await context.add_cookies(
        [
            {
                "name": cookie["name"],
                "value": cookie["value"],
                "url": console.url,
            }
        ]
    )
    await page.goto(f"{console.url}/links")
    assert page.url.startswith(f"{console.url}/sign-in"), page.url
    await context.close()
