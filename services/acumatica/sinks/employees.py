"""The employees sink: one ``EmployeeChanged`` made true in one Acumatica tenant, once.

Exactly once in effect is the runtime's idempotent upsert (``services/runtime/upsert.py``).
What is Acumatica's is here, in ``mapping.py`` (what an Employee receives) and in
``departments.py`` (departments first):

- Find: the employee's cross-reference (the ``EmployeeID``), then Employees whose
  ``ContactInfo/Email`` is the work email (compared case-insensitively).
- Department first: the employee's department (link option ``department_from``) is found
  or created before the employee is written, in the same attempt.
- Write: a new employee is created with ``If-None-Match: *`` (Acumatica numbers it); an
  existing one is updated with ``If-Match: *`` and only the fields we own that differ. A
  leaver is made ``Inactive``, never deleted; a leaver with no record gets none.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

import orjson

from schemas.people import EmployeeChanged
from services.acumatica.access import AcumaticaAccess
from services.acumatica.client import AcumaticaClient, AcumaticaRejectedError
from services.acumatica.departments import Departments
from services.acumatica.mapping import (
    MappingError,
    department_name,
    department_source,
    employee_body,
    unwrap,
    wrap,
)
from services.acumatica.settings import AcumaticaSettings
from services.runtime.employee_sink import EmployeeSink
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.upsert import AnnounceCreate, IdempotentUpsert, Known, Written

__all__ = ["APPLIED", "EMPLOYEE", "LEASE_PREFIX", "EmployeesSink", "changed_fields"]

EMPLOYEE: Final = "employee"  # cross-reference target kind: the Acumatica EmployeeID
APPLIED: Final = "acumatica.employee_applied"
"""Mapping kind: employee key -> JSON ``{"employee_id", "wanted"}``: the fields we last made
true (wrapped), which the drift read (``reconcile.py``) puts back after a hand edit."""
LEASE_PREFIX: Final = "acumatica-employee"


def changed_fields(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The part of ``wanted`` (a wrapped body) whose values differ from ``current``'s."""
    changes: dict[str, Any] = {}
    for name, value in wanted.items():
        if isinstance(value, dict) and "value" not in value:
            inner = changed_fields(current.get(name) or {}, value)
            if inner:
                changes[name] = inner
        elif unwrap(current.get(name)) != unwrap(value):
            changes[name] = value
    return changes


class EmployeesSink(EmployeeSink):
    """Applies employee snapshots to every Acumatica tenant linked from their source."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: AcumaticaAccess,
        settings: AcumaticaSettings,
        outcomes: Outcomes,
        holder: str,
        upsert: IdempotentUpsert | None = None,
    ) -> None:
        self._store = store
        self._access = access
        self._outcomes = outcomes
        self._departments = Departments(
            store=store,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.department_lease_seconds),
        )
        self._upsert = upsert or IdempotentUpsert(
            store=store,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.person_lease_seconds),
        )

    reference_kinds = (EMPLOYEE,)

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        return await self._access.links_from(source_connection_id)

    def fingerprint(self, event: EmployeeChanged, link: LinkRecord) -> str | None:
        try:
            source = department_source(link.options)
        except MappingError:
            return None  # the sink answers needs_review itself
        return employee_fingerprint(event, department_name(event, source))

    async def apply(self, event: EmployeeChanged, link: LinkRecord) -> WriteResult:
        """Make ``event`` true in ``link``'s tenant; the outcome is the caller's."""
        return await self._attempt(event, link, preview=False)

    async def preview(self, event: EmployeeChanged, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only (no department made either)."""
        result = await self._attempt(event, link, preview=True)
        return replace(result, action="review") if result.status == "needs_review" else result

    async def _attempt(
        self, event: EmployeeChanged, link: LinkRecord, *, preview: bool
    ) -> WriteResult:
        try:
            source = department_source(link.options)
        except MappingError as error:
            return WriteResult("needs_review", "map_department", detail=str(error))
        client = await self._access.client(link.target_connection_id)
        target = _Employee(
            event=event,
            link=link,
            client=client,
            departments=self._departments,
            department=department_name(event, source),
        )
        try:
            if preview:
                return await self._upsert.preview(link, event, target)
            return await self._upsert.apply(link, event, target)
        except (AcumaticaRejectedError, MappingError) as error:
            return WriteResult("needs_review", "write_employee", detail=str(error))


def employee_fingerprint(event: EmployeeChanged, department: str | None) -> str:
    """What the employee says, as far as an Employee cares (department by name)."""
    said = employee_body(event, department)
    return hashlib.sha256(orjson.dumps(said, option=orjson.OPT_SORT_KEYS)).hexdigest()


class _Employee:
    """One attempt at one employee: the Acumatica half of the upsert."""

    lease_prefix = LEASE_PREFIX
    reference_kinds = EmployeesSink.reference_kinds

    def __init__(
        self,
        *,
        event: EmployeeChanged,
        link: LinkRecord,
        client: AcumaticaClient,
        departments: Departments,
        department: str | None,
    ) -> None:
        self._event = event
        self._link = link
        self._client = client
        self._departments = departments
        self._department = department
        self._email = (event.work_email or "").strip().lower()
        self._current: dict[str, Any] | None = None
        self._wanted: dict[str, Any] | None = None
        self._adopted = False

    @property
    def fingerprint(self) -> str:
        return employee_fingerprint(self._event, self._department)

    async def find(self, known: Known) -> None:
        ref = known.references.get(EMPLOYEE)
        current = await self._client.employee(ref.target_id) if ref else None
        if current is None and self._email:
            rows = await self._client.employees_with_email(self._email)
            same = [
                r
                for r in rows
                if str(unwrap((r.get("ContactInfo") or {}).get("Email")) or "").casefold()
                == self._email
            ]
            current = min(same, key=lambda r: str(unwrap(r.get("EmployeeID"))), default=None)
            self._adopted = current is not None
        self._current = current

    async def plan(self) -> Written:
        return await self._make_true(None)

    async def write(self, announce_create: AnnounceCreate) -> Written:
        return await self._make_true(announce_create)

    async def _make_true(self, announce_create: AnnounceCreate | None) -> Written:
        """The write; without ``announce_create`` (a plan) the same decisions, no call made."""
        execute = announce_create is not None
        written = Written(unchanged_detail="Acumatica already matches")
        if self._current is None and self._event.status != "active":
            written.unchanged_detail = f"no Employee to write for a {self._event.status} employee"
            return written
        code = None
        if self._department is not None:
            code = await self._departments.code(
                self._link, self._department, self._client, written.operations, execute=execute
            )
        wanted = employee_body(self._event, code)
        self._wanted = wanted
        if self._current is None:
            written.operations.append("create_employee")
            if announce_create is not None:
                await announce_create()
                self._current = await self._client.put_employee(wanted, create=True)
        else:
            changes = changed_fields(self._current, wanted)
            if changes:
                deactivates = unwrap(changes.get("Status")) == "Inactive"
                changes["EmployeeID"] = wrap(unwrap(self._current.get("EmployeeID")))
                if execute:
                    self._current = await self._client.put_employee(changes, create=False)
                written.operations.append(
                    "deactivate_employee" if deactivates else "update_employee"
                )
                written.action = "deactivate" if deactivates else ""
            if self._adopted:
                written.operations.insert(0, "adopt_employee")
        employee_id = str(unwrap((self._current or {}).get("EmployeeID")) or "")
        if employee_id:
            written.target_ids[EMPLOYEE] = employee_id
        return written

    async def record(self, repos: Repositories, written: Written) -> None:
        employee_id = written.target_ids.get(EMPLOYEE)
        if employee_id is None or self._wanted is None:
            return
        applied = {"employee_id": employee_id, "wanted": self._wanted}
        await repos.mappings.put(
            self._link.id,
            APPLIED,
            self._event.entity_key,
            orjson.dumps(applied, option=orjson.OPT_SORT_KEYS).decode(),
        )
