"""What every sink of employees shares: the links an employee goes to, and the batch screen.

A people sink (FreshBooks' staff, Zoho's contacts, Acumatica's Employees) writes each
``EmployeeChanged`` of a link's source to that link's target, one outcome per link, and
answers a batch's already-applied events in a few reads first
(:mod:`services.runtime.applied_screen`). That part is the same for every target, so it
lives here; a sink keeps only its vendor knowledge: the cross-reference kinds it records,
its fingerprint of an employee, which links it writes to, and :meth:`EmployeeSink.apply`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import partial

from schemas.people import EmployeeChanged
from services.runtime.applied_screen import screen_applied
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["EmployeeSink"]


class EmployeeSink(ABC):
    """The base of a people sink; a subclass sets ``_store`` and ``_outcomes``."""

    _store: StateStore
    _outcomes: Outcomes

    reference_kinds: Sequence[str]
    """The cross-reference kinds a person can have in the target (its upsert's)."""

    @abstractmethod
    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        """The enabled links of this sink's flow whose source is ``source_connection_id``."""

    @abstractmethod
    def fingerprint(self, event: EmployeeChanged, link: LinkRecord) -> str | None:
        """What ``event`` says for ``link``, as the upsert fingerprints it (None: the sink
        must look itself)."""

    @abstractmethod
    async def apply(self, event: EmployeeChanged, link: LinkRecord) -> WriteResult:
        """Make ``event`` true in ``link``'s target; the outcome is the caller's."""

    async def employees_applied(self, events: Sequence[EmployeeChanged]) -> set[int]:
        """The positions of ``events`` already applied on every link: answered ``unchanged``
        for a whole batch in a few reads (:mod:`services.runtime.applied_screen`)."""
        return await screen_applied(events, self, store=self._store, outcomes=self._outcomes)

    async def employee_changed(self, event: EmployeeChanged) -> None:
        """One write attempt per link the employee goes to, each published as an outcome."""
        for link in await self.links_from(event.connection_id):
            if self.accepts(event, link):
                await self._outcomes.attempt(
                    event, link, event.entity_key, partial(self.apply, event, link)
                )

    def accepts(self, event: EmployeeChanged, link: LinkRecord) -> bool:
        """Every employee of the link's source (``links_from`` chose the links)."""
        return event.connection_id == link.source_connection_id
