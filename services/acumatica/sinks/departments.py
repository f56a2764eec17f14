"""The departments sink: BambooHR's departments (or divisions) made Acumatica departments.

Departments first (issue 13): an employee's department is also created on the employee's
own write (``employees.py``), so no employee ever waits on this sink; this one creates a
department as soon as BambooHR has it, before anyone is hired into it, and follows a
rename. What decides the code is ``departments.py``; what a department is made of is the
link option ``department_from`` (``mapping.py``):

- ``department`` links take ``DepartmentChanged`` events of kind ``department``, and
  ``division`` links those of kind ``division``; ``division_department`` links take none
  (a pair exists only on an employee, so the employee's write creates it);
- a rename keeps the code and changes the description;
- an archived name changes nothing: Acumatica departments have no inactive state, and
  the employees who were in it still point at it;
- job titles change nothing: the Default endpoint's Employee has no job title (§6).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import partial

from schemas.people import DepartmentChanged
from services.acumatica.access import AcumaticaAccess
from services.acumatica.client import AcumaticaRejectedError
from services.acumatica.departments import Departments
from services.acumatica.mapping import MappingError, department_source
from services.acumatica.settings import AcumaticaSettings
from services.runtime.option_lists import decode_option_list_event
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["DepartmentsSink"]


class DepartmentsSink:
    """Applies the source's department list to every Acumatica tenant linked from it."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: AcumaticaAccess,
        settings: AcumaticaSettings,
        outcomes: Outcomes,
        holder: str,
    ) -> None:
        self._access = access
        self._outcomes = outcomes
        self._departments = Departments(
            store=store,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.department_lease_seconds),
        )

    async def list_changed(self, message: object) -> None:
        """One ``people.department`` message: one outcome per link it makes a department for."""
        event = decode_option_list_event(message)
        if not isinstance(event, DepartmentChanged):
            return  # a job title: no Employee field carries it
        for link in await self._access.links_from(event.connection_id):
            if self.accepts(event, link):
                await self._outcomes.attempt(
                    event, link, event.entity_key, partial(self.apply, event, link)
                )

    def accepts(self, event: DepartmentChanged, link: LinkRecord) -> bool:
        """A unit of the link's source, of the kind the link's options make departments of
        (a bad option: yes, to say so)."""
        return event.connection_id == link.source_connection_id and _takes(link, event)

    async def apply(self, event: DepartmentChanged, link: LinkRecord) -> WriteResult:
        """Make ``event``'s department exist in ``link``'s tenant; the outcome is the caller's."""
        return await self._make_exist(event, link, execute=True)

    async def preview(self, event: DepartmentChanged, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only."""
        result = await self._make_exist(event, link, execute=False)
        if result.status == "needs_review":
            return replace(result, action="review")
        if result.status == "applied":
            # Adopting one made by hand, or renaming ours, changes a department that exists.
            created = "create_department" in result.operation.split("+")
            return replace(result, action="create" if created else "update")
        return result

    async def _make_exist(
        self, event: DepartmentChanged, link: LinkRecord, *, execute: bool
    ) -> WriteResult:
        try:
            department_source(link.options)
        except MappingError as error:
            return WriteResult("needs_review", "map_department", detail=str(error))
        if not event.active:
            return WriteResult(
                "unchanged",
                "compare",
                detail=f"{event.name!r} was archived; Acumatica departments stay as they are",
            )
        client = await self._access.client(link.target_connection_id)
        operations: list[str] = []
        try:
            if event.previous_name:
                code = await self._departments.renamed(
                    link, event.previous_name, event.name, client, operations, execute=execute
                )
            else:
                code = await self._departments.code(
                    link, event.name, client, operations, execute=execute
                )
        except (AcumaticaRejectedError, MappingError) as error:
            return WriteResult("needs_review", "write_department", detail=str(error))
        ids = {"department": code}
        if not operations:
            return WriteResult("unchanged", "compare", ids, f"department {code} exists")
        return WriteResult("applied", "+".join(operations), ids, f"department {code}")


def _takes(link: LinkRecord, event: DepartmentChanged) -> bool:
    """Whether ``link`` makes departments of ``event``'s kind (a bad option: yes, to say so)."""
    try:
        return department_source(link.options) == event.kind
    except MappingError:
        return True
