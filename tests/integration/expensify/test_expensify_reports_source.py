"""Expensify as flow expenses' source: approved reports exported through our Freemarker
template from the Expensify sandbox on a socket, published over a real Kafka broker.

A reconcile publishes every approved (and reimbursed) report of the policy once, a second
poll nothing; a report approved later is published by the next poll; a link's schedule
decides when a tick polls; the test prefix keeps other reports out; Expensify's rate limit
is waited out, nothing lost; the export label marks reports without hiding them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from faststream.kafka import KafkaBroker

from sandboxes.expensify.app import ExpensifySandbox
from sandboxes.kit import SandboxClock, build_app, serve, wait_until
from schemas import decode_event
from schemas.envelope import Event
from schemas.expense import ExpenseReportApproved
from schemas.outcomes import SyncOutcome
from schemas.raw import PollTick, ReconcileTick
from services.expensify.access import FLOW, ExpensifyAccess
from services.expensify.settings import ExpensifySettings
from services.expensify.source import ReportsSource
from services.runtime.audit_trail import read_events
from services.runtime.bus import create_broker
from services.runtime.outcomes import Outcomes
from services.runtime.ratelimit import BudgetRegistry
from services.runtime.settings import RuntimeSettings
from services.runtime.snapshots import PublishedSnapshots
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry

AVA = "ava.nguyen@acmecreative.example"
APPROVED_IN_SEED = {"41000103", "41000104", "41000105", "41000106", "41000108"}


SEEDED_DAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the seed's reports are of this month


@dataclass
class Clock:
    """The service's clock is the sandbox's, pinned to the seed's month: the test reads the
    same reports whatever day it runs."""

    sandbox: SandboxClock

    @property
    def now(self) -> datetime:
        return self.sandbox.now()

    def advance(self, by: timedelta) -> None:
        self.sandbox.advance(by.total_seconds())

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    control: httpx.AsyncClient
    store: StateStore
    source: ReportsSource
    connection_id: str
    link_id: str
    bootstrap: str
    topic: str
    clock: Clock
    outcomes: list[SyncOutcome]

    async def published(self) -> list[ExpenseReportApproved]:
        found = await read_events(self.bootstrap, topics=[self.topic], keep=lambda _: True)
        events = [decode_event(logged.event) for logged in found]
        return [e for e in events if isinstance(e, ExpenseReportApproved)]

    async def jobs(self) -> list[dict[str, Any]]:
        answer = await self.control.get("/_sandbox/requests")
        answer.raise_for_status()
        return [r for r in answer.json() if "ExpensifyIntegrations" in r["path"]]

    async def action(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.control.post(f"/_sandbox/actions/{name}", json=payload)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def set_options(self, **options: Any) -> None:
        async with self.store.transaction() as repos:
            await repos.links.update(self.link_id, options=options)

    def reconcile(self, *, full: bool = False) -> ReconcileTick:
        return ReconcileTick(connection_id=self.connection_id, occurred_at=self.clock.now,
                             vendor="expensify", schedule="reconcile", entity_key="tick:reconcile",
                             due_at=self.clock.now.isoformat(), full=full)  # fmt: skip

    def poll(self) -> PollTick:
        return PollTick(connection_id=self.connection_id, occurred_at=self.clock.now,
                        vendor="expensify", schedule="links", entity_key="tick:links",
                        due_at=self.clock.now.isoformat())  # fmt: skip


@pytest.fixture
async def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
) -> AsyncIterator[World]:
    """``request.param``, when a test gives one (``indirect``), is the export limit; such a
    test makes many jobs, so both sides' rate limits are off for it."""
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    topic = await kafka_topic("expense-report")
    broker: KafkaBroker = create_broker(RuntimeSettings(kafka_bootstrap_servers=kafka_bootstrap))
    clock = Clock(SandboxClock(frozen_at=SEEDED_DAY))
    outcomes: list[SyncOutcome] = []

    async def keep(event: SyncOutcome, *, cause: Event) -> None:
        outcomes.append(event)

    try:
        async with (
            serve(build_app(ExpensifySandbox(clock=clock.sandbox))) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            credentials = (await control.post("/_sandbox/credentials")).json()
            async with store.transaction() as repos:
                expensify = await repos.connections.create(
                    vendor="expensify", tenant_id="default", display_name="Expensify",
                    settings={"partner_user_id": credentials["partner_user_id"],
                              "policy_id": credentials["policy_id"]},
                )  # fmt: skip
                secret = str(credentials["partner_user_secret"])
                field_name = "partner_user_secret"
                token = vault.encrypt(secret, connection_id=expensify.id, field=field_name)
                await repos.credentials.put(
                    expensify.id, field_name, token=token, key_id=Vault.key_id_of(token)
                )
                books = await repos.connections.create(
                    vendor="freshbooks", tenant_id="default", display_name="Books"
                )
                link = await repos.links.create(
                    source_connection_id=expensify.id, target_connection_id=books.id, flow=FLOW
                )
            settings = ExpensifySettings(
                integration_url=f"{server.base_url}/Integration-Server/ExpensifyIntegrations",
                **({"export_limit": request.param, "rate_windows": ((1000, 1.0),)}
                   if hasattr(request, "param") else {}),
            )  # fmt: skip
            if hasattr(request, "param"):
                (await control.post("/_sandbox/limits", json={"enabled": False})).raise_for_status()
            # Each test its own rate windows: the process's would carry one test's jobs over.
            access = ExpensifyAccess(
                store=store, vault=vault, settings=settings, budgets=BudgetRegistry()
            )
            await broker.connect()
            source = ReportsSource(
                store=store,
                access=access,
                snapshots=PublishedSnapshots(store=store, broker=broker, service="expensify"),
                outcomes=Outcomes(keep, service="expensify"),
                service="expensify",
                holder=f"expensify-{uuid4().hex}",
                topic=topic,
                clock=clock,
            )
            try:
                yield World(control, store, source, expensify.id, link.id, kafka_bootstrap,
                            topic, clock, outcomes)  # fmt: skip
            finally:
                await access.aclose()
    finally:
        await broker.stop()
        await store.close()


async def test_a_reconcile_publishes_each_approved_report_once_with_its_expenses(
    world: World,
) -> None:
    await world.source.on_reconcile(world.reconcile())
    first = await world.published()
    await world.source.on_reconcile(world.reconcile())

    assert {e.report_id for e in first} <= APPROVED_IN_SEED
    assert {"41000103", "41000104"} <= {e.report_id for e in first}
    assert len(await world.published()) == len(first), "a second poll publishes nothing"
    [daniel] = [e for e in first if e.report_id == "41000103"]
    assert daniel.employee_email == "daniel.okafor@acmecreative.example"
    assert daniel.currency == "USD"
    assert daniel.approved_at == datetime(2026, 11, 7, 10, 2, tzinfo=UTC)
    uber = next(x for x in daniel.expenses if x.expense_id == "6720309558248108")
    assert uber.merchant == "Uber Chicago"  # as edited
    assert uber.amount == Decimal("42.10")  # converted first, as Expensify's samples take it
    assert sum(x.amount for x in daniel.expenses) == daniel.total
    dinner = next(x for x in daniel.expenses if x.expense_id == "6720309558248107")
    assert dinner.comment == 'Dinner with Initech CMO "Lumbergh"'
    assert (dinner.category, dinner.category_code, dinner.billable) == (
        "Meals & Entertainment", "6200", True,
    )  # fmt: skip
    assert all(x.reimbursable and not x.card_transaction for x in daniel.expenses)
    [amex] = [e for e in first if e.report_id == "41000104"]
    assert all(x.card_transaction for x in amex.expenses)
    refund = next(x for x in amex.expenses if x.expense_id == "6720309558248111")
    assert refund.amount == Decimal("-120.00")
    verizon = next(x for x in amex.expenses if x.expense_id == "6720309558248112")
    assert verizon.tags == ("Engineering:R\\:D",)


async def test_a_report_approved_later_is_published_by_the_next_poll(world: World) -> None:
    await world.source.on_reconcile(world.reconcile())
    before = {e.report_id for e in await world.published()}
    await world.action("approve_report", {"reportID": "41000102", "approverEmail": AVA})
    world.clock.advance(timedelta(hours=1))
    await world.source.on_poll(world.poll())
    after = [e.report_id for e in await world.published()]
    world.clock.advance(timedelta(hours=1))
    jobs = len(await world.jobs())
    await world.source.on_poll(world.poll())  # the same day again: exported, not published

    assert "41000102" not in before, "submitted, not approved: never published"
    assert set(after) - before == {"41000102"}
    assert len(await world.jobs()) == jobs + 2
    assert [e.report_id for e in await world.published()] == after


async def test_a_links_schedule_decides_which_ticks_poll(world: World) -> None:
    await world.set_options(poll_every_seconds=3600)
    await world.source.on_poll(world.poll())  # never polled: due
    polled_once = len(await world.jobs())
    world.clock.advance(timedelta(minutes=10))
    await world.source.on_poll(world.poll())
    not_due = len(await world.jobs())
    world.clock.advance(timedelta(minutes=51))
    await world.source.on_poll(world.poll())

    assert polled_once == 2, "one export and its download"
    assert not_due == polled_once
    assert len(await world.jobs()) == 4

    await world.set_options(poll_daily_at="25:00", time_zone="America/Chicago")
    await world.source.on_poll(world.poll())
    [failed] = world.outcomes
    assert failed.status == "failed"
    assert "poll_daily_at" in failed.detail


async def test_the_test_prefix_keeps_other_reports_out(world: World) -> None:
    await world.set_options(test_report_prefix="Initech")
    await world.source.on_reconcile(world.reconcile())

    assert [e.report_id for e in await world.published()] == ["41000103"]


async def test_the_rate_limit_is_waited_out_and_nothing_is_lost(world: World) -> None:
    await world.action("set_rate_windows", {"windows": [[2, 60]]})
    await world.source.on_reconcile(world.reconcile())  # the window's two jobs
    first = len(await world.published())
    await world.action("approve_report", {"reportID": "41000102", "approverEmail": AVA})
    polling = asyncio.create_task(world.source.on_reconcile(world.reconcile()))

    async def refused() -> list[dict[str, Any]] | None:
        found = [j for j in await world.jobs() if j["status"] == 429]
        return found or None

    await wait_until(refused, timeout_seconds=30, interval_seconds=0.1, message="a 429")
    world.clock.advance(timedelta(seconds=61))  # Expensify's minute passes
    await asyncio.wait_for(polling, timeout=60)

    assert not polling.exception()
    assert len(await world.published()) == first + 1, "the refused poll was sent again"


async def test_the_export_label_marks_reports_and_hides_none(world: World) -> None:
    await world.set_options(export_label="ml-connector-test")
    await world.source.on_reconcile(world.reconcile())
    await world.source.on_reconcile(world.reconcile(full=True))

    reports = (await world.control.get("/_sandbox/state/reports")).json()
    labelled = {r["id"] for r in reports if "ml-connector-test" in r.get("exportedLabels", [])}
    published = [e.report_id for e in await world.published()]
    assert "41000103" in labelled
    assert published.count("41000103") == 2, "a full resend publishes it again, label or not"


@pytest.mark.parametrize("world", [2], indirect=True)
async def test_an_export_that_comes_back_full_is_read_again_in_halves(world: World) -> None:
    await world.action("approve_report", {"reportID": "41000102", "approverEmail": AVA})
    await world.source.on_reconcile(world.reconcile())

    published = sorted(e.report_id for e in await world.published())
    assert published == ["41000102", "41000103", "41000104"], "three approvals, two a page"
    assert len(await world.jobs()) > 2, "the full export was asked again in parts"
