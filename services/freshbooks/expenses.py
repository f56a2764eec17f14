"""Department attribution: every expense carries its staff member's current BambooHR department.

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

from datetime import date, timedelta

from services.freshbooks.client import FreshBooksClient
from services.freshbooks.mapping import with_department
from services.freshbooks.models import Expense
from services.freshbooks.results import WriteResult
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sink import DEPARTMENT_BY_EMAIL
from services.runtime.leasing import held_lease
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["EXPENSE_EVENTS", "ExpenseAttributor"]

EXPENSE_EVENTS = frozenset({"expense.create", "expense.update"})

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
