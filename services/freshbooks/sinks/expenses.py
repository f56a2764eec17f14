"""Department attribution: every expense carries its staff member's current BambooHR department.

Reads ``raw.freshbooks`` through the runtime's raw dispatch: ``expense.create`` /
``expense.update`` callbacks, poll ticks (the backup poll) and reconcile ticks (every
expense); one ``SyncOutcome`` per write attempt.

FreshBooks expenses have no tag, class or department field (sheet 7.2); the carrier is a
marker in ``notes`` (``mapping.with_department``, template a setting), because notes are
free text with no accounting meaning, shown in FreshBooks' UI and exports, and writable
with a partial PUT that changes nothing else. The alternatives change what an expense *is*:
a per-department category moves it to another ledger account (and categories cannot be
created through the API), a project or client makes it billable work for someone.

Triggers: ``expense.create`` / ``expense.update`` callbacks and the backup poll. An expense
already carrying the right marker is not written again, which also ends the echo of our own
PUT (FreshBooks answers it with an ``expense.update`` callback).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from typing import Final

from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.client import FreshBooksClient
from services.freshbooks.mapping import callback_event, with_department
from services.freshbooks.models import Expense
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sinks.people import DEPARTMENT_BY_EMAIL
from services.runtime.leasing import held_lease
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["EXPENSES_WATERMARK", "EXPENSE_EVENTS", "ExpenseAttributor", "ExpenseSink"]

EXPENSE_EVENTS = frozenset({"expense.create", "expense.update"})
EXPENSES_WATERMARK: Final = "expenses.updated"

_UNKNOWN = object()


class ExpenseAttributor:
    """Writes the department marker on one connection's expenses."""

    def __init__(
        self,
        *,
        store: StateStore,
        client: FreshBooksClient,
        links: list[LinkRecord],
        settings: FreshBooksSettings,
        holder: str,
    ) -> None:
        self._store = store
        self._client = client
        self._links = links  # people-freshbooks links whose target is this connection
        self._settings = settings
        self._holder = holder
        self._emails: dict[int, str | None] = {}

    async def attribute_by_id(self, expense_id: str) -> WriteResult:
        lease = f"freshbooks-expense:{self._client.connection_id}:{expense_id}"
        ttl = timedelta(seconds=self._settings.person_lease_seconds)
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            expense = await self._client.get_expense(expense_id)
            if expense is None:
                return WriteResult("unchanged", "compare", {"expense": expense_id}, "not found")
            return await self._attribute(expense)

    async def attribute(self, expense: Expense) -> WriteResult:
        """For the poll: judged on the listed copy; re-read under the lease before a write."""
        judged = await self._attribute(expense, dry_run=True)
        if judged.status != "applied":
            return judged
        return await self.attribute_by_id(str(expense.id))

    async def _attribute(self, expense: Expense, *, dry_run: bool = False) -> WriteResult:
        ids = {"expense": str(expense.id), "staff": str(expense.staffid)}
        if expense.vis_state == 1:
            return WriteResult("unchanged", "compare", ids, "the expense is deleted")
        department = await self._department_of(expense.staffid)
        if department is _UNKNOWN:
            detail = "the staff member is not linked to a BambooHR employee"
            return WriteResult("unchanged", "compare", ids, detail)
        wanted = with_department(
            expense.notes,
            department if isinstance(department, str) and department else None,
            self._settings.department_note_template,
        )
        if wanted == (expense.notes or ""):
            return WriteResult("unchanged", "compare", ids, "already carries its department")
        if not dry_run:
            await self._client.set_expense_notes(expense.id, wanted)
        return WriteResult("applied", "attribute_department", ids)

    async def _department_of(self, staff_id: int) -> object:
        """The department ("" for none), or ``_UNKNOWN`` for staff no employee became."""
        if staff_id not in self._emails:
            staff = await self._client.get_staff(staff_id)
            self._emails[staff_id] = (staff.email or "").strip().lower() if staff else None
        email = self._emails[staff_id]
        if not email:
            return _UNKNOWN
        async with self._store.transaction() as repos:
            for link in self._links:
                department = await repos.mappings.get(link.id, DEPARTMENT_BY_EMAIL, email)
                if department is not None:
                    return department
        return _UNKNOWN

    async def changed_since(self, since: date | None) -> list[Expense]:
        """Live expenses changed since ``since`` (all when None or not filterable)."""
        updated_min = since if self._settings.expenses_updated_filter else None
        return [
            expense
            async for expense in self._client.expenses(updated_min=updated_min)
            if expense.vis_state != 1
        ]


class ExpenseSink:
    """The raw.freshbooks handlers (``services.runtime.raw_dispatch.RawHandlers``)."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: FreshBooksAccess,
        settings: FreshBooksSettings,
        outcomes: Outcomes,
        service: str,
        holder: str,
    ) -> None:
        self._store = store
        self._access = access
        self._settings = settings
        self._outcomes = outcomes
        self._service = service
        self._holder = holder

    async def _attributor(self, connection_id: str, links: list[LinkRecord]) -> ExpenseAttributor:
        return ExpenseAttributor(
            store=self._store,
            client=await self._access.client(connection_id),
            links=links,
            settings=self._settings,
            holder=self._holder,
        )

    async def _attribute_one(
        self, connection_id: str, links: list[LinkRecord], expense_id: str
    ) -> WriteResult:
        attributor = await self._attributor(connection_id, links)
        return await attributor.attribute_by_id(expense_id)

    async def on_delivery(self, delivery: RawDelivery) -> None:
        """An expense callback; any other delivery (a handshake, another object) is not ours."""
        callback = callback_event(delivery.body)
        if callback is None or callback.name not in EXPENSE_EVENTS:
            return
        links = await self._access.links_into(delivery.connection_id)
        if not links:
            return
        await self._outcomes.attempt(
            delivery,
            links[0],
            f"expense:{callback.object_id}",
            partial(self._attribute_one, delivery.connection_id, links, callback.object_id),
        )

    async def on_poll(self, tick: PollTick) -> None:
        await self._scan(tick)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        await self._scan(tick)

    async def _scan(self, tick: PollTick | ReconcileTick) -> None:
        """The backup poll: every expense changed since the last tick (a day of overlap).

        A reconciliation (``mlc connections sync``) looks at every expense instead.
        """
        done_key = f"{tick.type}:{tick.connection_id}:{tick.schedule}:{tick.due_at}"
        async with self._store.transaction() as repos:
            if await repos.ledger.get(self._service, done_key) is not None:
                return
            mark = await repos.watermarks.get(self._service, tick.connection_id, EXPENSES_WATERMARK)
        links = await self._access.links_into(tick.connection_id)
        if not links:
            return
        link = links[0]
        attributor = await self._attributor(tick.connection_id, links)
        # FreshBooks filters updated_min by day, in US/Eastern: a day of overlap covers both.
        since = (datetime.fromisoformat(mark) - timedelta(days=1)).date() if mark else None
        if isinstance(tick, ReconcileTick):
            since = None
        for expense in await attributor.changed_since(since):
            # A poll re-reads every expense: only writes (and failures) are worth an outcome.
            await self._outcomes.attempt(
                tick,
                link,
                f"expense:{expense.id}",
                partial(attributor.attribute, expense),
                quiet_unchanged=True,
            )
        async with self._store.transaction() as repos:
            await repos.watermarks.set(
                self._service, tick.connection_id, EXPENSES_WATERMARK, tick.due_at
            )
            if await repos.ledger.claim(self._service, done_key):
                await repos.ledger.record_outcome(self._service, done_key, "polled")
