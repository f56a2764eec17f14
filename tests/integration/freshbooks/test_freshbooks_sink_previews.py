"""Previews (dry runs) of the FreshBooks people and expense-report sinks, against the sandbox
on a socket: for each kind of decision the preview names what ``apply`` then does (status,
operations, detail), and writes nothing: no FreshBooks write, no store row (review item,
mapping, cross-reference, lease, announcement)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from schemas.envelope import Event
from schemas.expense import ExpenseLine, ExpenseReportApproved
from schemas.people import EmployeeChanged
from services.freshbooks.access import EXPENSES_FLOW, FreshBooksAccess
from services.freshbooks.mapping import NO_CREATE_REVIEW, PENDING_INVITATION_REVIEW
from services.freshbooks.sinks.expense_reports import ExpenseReportsSink
from services.freshbooks.sinks.people import PeopleSink
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store.records import LinkRecord
from tests.integration.freshbooks.fb_sink_harness import SinkWorld, employee, sink_world
from tests.integration.store_rows import rows_a_preview_keeps

DANIEL = "daniel.okafor@acmecreative.example"
_APPROVED = datetime(2026, 11, 7, 10, 2, tzinfo=UTC)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def footprint(world: SinkWorld) -> tuple[int, dict[str, list[str]]]:
    """FreshBooks' successful writes so far, and the store rows a preview must keep."""
    writes = sum(
        1
        for r in await world.requests()
        if r["method"] in _WRITES and r["status"] < 400 and "/oauth/" not in r["path"]
    )
    return writes, await rows_a_preview_keeps(world.store)


class _Kept:
    async def __call__(self, event: object, *, cause: Event) -> None:
        return None


@dataclass
class Sinks:
    world: SinkWorld
    access: FreshBooksAccess

    def people(self) -> PeopleSink:
        return PeopleSink(
            store=self.world.store,
            access=self.access,
            settings=self.world.settings,
            outcomes=Outcomes(_Kept(), service="freshbooks"),
            holder=f"freshbooks-{uuid4().hex}",
        )

    def reports(self) -> ExpenseReportsSink:
        return ExpenseReportsSink(
            store=self.world.store,
            access=self.access,
            settings=self.world.settings,
            outcomes=Outcomes(_Kept(), service="freshbooks"),
            holder=f"freshbooks-{uuid4().hex}",
        )

    async def link(self, link_id: str | None = None) -> LinkRecord:
        async with self.world.store.transaction() as repos:
            link = await repos.links.get(link_id or self.world.link_id)
        assert link is not None
        return link

    async def preview_then_apply(
        self, sink: PeopleSink | ExpenseReportsSink, event: Any, link: LinkRecord
    ) -> WriteResult:
        """The preview, checked to write nothing and to name what ``apply`` then does."""
        before = await footprint(self.world)
        planned = await sink.preview(event, link)
        assert await footprint(self.world) == before, "a preview wrote"
        done = await sink.apply(event, link)
        assert (done.status, done.operation, done.detail) == (
            planned.status,
            planned.operation,
            planned.detail,
        )
        return planned


@pytest.fixture
async def sinks(tmp_path: Path) -> AsyncIterator[Sinks]:
    async with sink_world(tmp_path) as world:
        access = FreshBooksAccess(store=world.store, vault=world.vault, settings=world.settings)
        try:
            yield Sinks(world, access)
        finally:
            await access.aclose()


@pytest.fixture
async def staff_sinks(tmp_path: Path) -> AsyncIterator[Sinks]:
    """FreshBooks' deprecated staff create served, and the sink told to use it."""
    sandbox = FreshBooksSandbox(settings=FreshBooksSandboxSettings(staff_create_allowed=True))
    async with sink_world(tmp_path, sandbox=sandbox) as world:
        world.settings = world.settings.model_copy(update={"person_create": "staff"})
        access = FreshBooksAccess(store=world.store, vault=world.vault, settings=world.settings)
        try:
            yield Sinks(world, access)
        finally:
            await access.aclose()


def _person(sinks: Sinks, employee_id: str, **changes: Any) -> EmployeeChanged:
    return employee(sinks.world, employee_id, **changes)


async def test_a_hire_an_update_and_a_pending_termination_preview_as_written(
    sinks: Sinks,
) -> None:
    people, link = sinks.people(), await sinks.link()
    hired = await sinks.preview_then_apply(people, _person(sinks, "701"), link)
    moved = await sinks.preview_then_apply(
        people, _person(sinks, "701", version=2, department="Sales"), link
    )
    pending = await sinks.preview_then_apply(
        people, _person(sinks, "701", version=3, status="terminated"), link
    )

    assert (hired.action, hired.operation) == ("create", "invite_team_member+record_department")
    assert (moved.action, moved.operation) == ("update", "record_department")
    assert (pending.status, pending.action) == ("needs_review", "review")
    assert pending.detail == PENDING_INVITATION_REVIEW


async def test_a_staff_member_terminated_previews_as_a_deactivation(sinks: Sinks) -> None:
    people, link = sinks.people(), await sinks.link()
    [liam] = [s for s in await sinks.world.state("staff") if s["id"] == 2]
    fired = _person(
        sinks, "702", status="terminated", first_name="Liam", last_name="Walsh-Byrne",
        work_email=liam["email"],
    )  # fmt: skip

    planned = await sinks.preview_then_apply(people, fired, link)

    assert planned.action == "deactivate"
    assert planned.operation == "update_staff+soft_delete_staff+record_department"
    assert planned.target_ids == {"staff": "2"}


async def test_no_person_to_create_previews_the_same_review(sinks: Sinks) -> None:
    sinks.world.settings = sinks.world.settings.model_copy(update={"person_create": "none"})
    people, link = sinks.people(), await sinks.link()
    nobody = await sinks.preview_then_apply(people, _person(sinks, "703"), link)
    no_email = await sinks.preview_then_apply(people, _person(sinks, "704", work_email=None), link)

    assert (nobody.status, nobody.detail, nobody.action) == (
        "needs_review",
        NO_CREATE_REVIEW,
        "review",
    )
    assert (no_email.status, no_email.operation) == ("needs_review", "match_person")


async def test_a_staff_record_made_inactive_previews_its_create_and_its_archive(
    staff_sinks: Sinks,
) -> None:
    people, link = staff_sinks.people(), await staff_sinks.link()
    planned = await staff_sinks.preview_then_apply(
        people, _person(staff_sinks, "705", status="inactive"), link
    )

    assert planned.action == "create"
    assert planned.operation == "create_staff+archive_staff+record_department"
    [made] = await staff_sinks.world.staff_with_email("maya.705@acmecreative.example")
    assert made["vis_state"] == 2


async def _expenses_link(sinks: Sinks, **options: Any) -> LinkRecord:
    async with sinks.world.store.transaction() as repos:
        expensify = await repos.connections.create(
            vendor="expensify", tenant_id="default", display_name="Expensify"
        )
        made = await repos.links.create(
            source_connection_id=expensify.id,
            target_connection_id=sinks.world.freshbooks_connection_id,
            flow=EXPENSES_FLOW,
        )
        await repos.links.update(made.id, options=options)
        await repos.mappings.put(made.id, "gl-account", "6300", "Software")
    await sinks.world.action(
        "create_bill_vendor", {"vendor_name": "Daniel Okafor", "primary_contact_email": DANIEL}
    )
    return await sinks.link(made.id)


def _report(
    link: LinkRecord, report_id: str, *lines: ExpenseLine, email: str = DANIEL
) -> ExpenseReportApproved:
    return ExpenseReportApproved(
        connection_id=link.source_connection_id,
        occurred_at=_APPROVED,
        source_updated_at=_APPROVED,
        report_id=report_id,
        report_name="Chicago pitch",
        employee_email=email,
        currency="USD",
        total=sum((x.amount for x in lines), Decimal(0)),
        approved_at=_APPROVED,
        expenses=lines,
    )


def _line(
    expense_id: str, amount: str, category: str, code: str, *, card: bool = False
) -> ExpenseLine:
    return ExpenseLine(
        expense_id=expense_id,
        merchant=f"Merchant {expense_id}",
        spent_on=date(2026, 11, 3),
        amount=Decimal(amount),
        currency="USD",
        category=category,
        category_code=code,
        reimbursable=not card,
        card_transaction=card,
    )


async def test_a_report_previews_its_bill_and_expense_then_nothing(sinks: Sinks) -> None:
    reports, link = sinks.reports(), await _expenses_link(sinks)
    event = _report(
        link,
        "42000101",
        _line("a1", "120.00", "Airfare", "6110"),
        _line("a2", "15.99", "Software & Subscriptions", "6300", card=True),
    )
    booked = await sinks.preview_then_apply(reports, event, link)
    again = await reports.preview(event, link)

    assert (booked.action, booked.operation) == ("create", "create_bill+create_expense")
    assert again.status == "unchanged"


async def test_a_missing_reference_previews_the_review_without_queueing_it(sinks: Sinks) -> None:
    reports, link = sinks.reports(), await _expenses_link(sinks)
    event = _report(link, "42000201", _line("g1", "80.00", "Client Gifts", "6250"))

    planned = await sinks.preview_then_apply(reports, event, link)

    assert (planned.status, planned.operation, planned.action) == (
        "needs_review",
        "resolve_references",
        "review",
    )
    assert "Client Gifts (GL 6250)" in planned.detail
    async with sinks.world.store.transaction() as repos:
        queued = await repos.review_queue.list(status="open", link_id=link.id)
    assert [item.payload["entity_key"] for item in queued] == ["42000201"]  # by apply alone


async def test_a_bill_vendor_to_create_is_previewed_not_created(sinks: Sinks) -> None:
    reports, link = sinks.reports(), await _expenses_link(sinks, create_bill_vendors=True)
    hannah = "hannah.kim@acmecreative.example"
    event = _report(link, "42000301", _line("h1", "64.00", "Airfare", "6110"), email=hannah)

    planned = await sinks.preview_then_apply(reports, event, link)

    assert (planned.action, planned.operation) == ("create", "create_bill_vendor+create_bill")
    vendors = [v for v in await sinks.world.state("bill_vendors")
               if v["primary_contact_email"] == hannah]  # fmt: skip
    assert len(vendors) == 1  # by apply alone
