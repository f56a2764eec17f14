"""Contact drift: what someone changed by hand in Zoho Books, found and put back.

HR is the system of record for the fields we own (``mapping.py``); what the contacts sink
last made true of each employee's contact is its ``zoho.contact_applied`` mapping (the
fields, the contact id, and Zoho's ``last_modified_time`` after our write). One run, per
link:

1. Read every contact of the organisation: ``GET /contacts``, 200 a page, so a 2,000
   person organisation is 10 calls. A webhook's check reads newest first and stops at the
   last check (a page, usually), and looks only at the contacts it saw.
2. A contact whose ``last_modified_time`` is what we recorded, and whose row shows our
   values, is in step: no more calls. One that moved is read whole and brought back in
   line by the sink's own :class:`~services.zoho.sinks.contacts.ContactWriter` (only
   fields that differ are sent; fields we do not own are never touched), under the
   employee's lease so it never races the sink. Each repair is an ``applied`` outcome
   naming the calls made; a contact edited only in fields we do not own is recorded as
   seen, not "repaired".
3. A contact that is gone (deleted by hand) is ``needs_review``: recreating a contact
   someone deleted on purpose is a person's call; the employee's next change creates it.
4. One summary outcome per run, entity ``reconcile:<link id>``: "40 checked, 1 repaired,
   0 failed" (``applied`` when nothing failed, ``failed`` otherwise).

A spent daily quota or a token Zoho refuses stops the run: the summary says so, and the
error is raised so the tick is retried (and, in the end, dead-lettered with its cause).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from schemas.envelope import Event
from schemas.outcomes import OutcomeStatus
from services.runtime.leasing import held_lease
from services.runtime.logging import get_logger
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from services.zoho.client import ZohoBooksClient, ZohoRejectedError
from services.zoho.mapping import MappingError, WantedContact
from services.zoho.models import ContactRow, zoho_time
from services.zoho.settings import ZohoSettings
from services.zoho.sinks.contacts import APPLIED, LEASE_PREFIX, ContactWriter, applied_record

__all__ = ["Applied", "ContactsReconciliation", "RunSummary", "summary_key"]

_log = get_logger(__name__)


def summary_key(link_id: str) -> str:
    """The entity key of a link's run summaries (and of a skipped run's outcome)."""
    return f"reconcile:{link_id}"


@dataclass(frozen=True, slots=True)
class Applied:
    """One employee's applied record, as the sink wrote it."""

    employee_key: str
    wanted: WantedContact
    contact_id: str
    last_modified_time: str | None

    @classmethod
    def parse(cls, employee_key: str, text: str) -> Applied:
        """MappingError when the record is not one the sink writes."""
        try:
            value: dict[str, Any] = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            msg = f"unreadable applied record: {error}"
            raise MappingError(msg) from error
        if not isinstance(value, dict) or not value.get("contact_id"):
            msg = "the applied record names no contact"
            raise MappingError(msg)
        return cls(
            employee_key=employee_key,
            wanted=WantedContact.from_json(value.get("wanted") or {}),
            contact_id=str(value["contact_id"]),
            last_modified_time=value.get("last_modified_time"),
        )

    def in_step(self, row: ContactRow) -> bool:
        """Whether the list row shows nothing changed since our write.

        Zoho's ``last_modified_time`` has whole seconds, so an edit in the same second as
        our write keeps it: what the row shows of our fields (name, status, the primary
        person's names and email) is compared too. An edit of only the job title,
        department or tags in that same second waits for the contact's next change.
        """
        person = self.wanted.person
        shown = (
            row.contact_name in self.wanted.names(),
            (row.status == "active") == self.wanted.active,
            (row.email or "").strip().casefold() == person["email"].casefold(),
            (row.first_name or "") == person["first_name"],
            (row.last_name or "") == person["last_name"],
        )
        return all(shown) and row.last_modified_time == self.last_modified_time


@dataclass(slots=True)
class RunSummary:
    checked: int = 0
    repaired: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.checked} checked, {self.repaired} repaired, {self.failed} failed"


# Zoho's change times have whole seconds, and its clock is not ours: look this far back.
_CHANGED_OVERLAP = timedelta(minutes=2)


async def _rows(client: ZohoBooksClient, since: datetime | None) -> dict[str, ContactRow]:
    """Every contact's list row, or (``since``) those changed from then on."""
    rows: dict[str, ContactRow] = {}
    async for row in client.contact_rows(newest_first=since is not None):
        if since is not None:
            changed = zoho_time(row.last_modified_time)
            if changed is not None and changed < since - _CHANGED_OVERLAP:
                break  # newest first: every row after this one is older still
        rows[row.contact_id] = row
    return rows


def _names_a_row(text: str, rows: dict[str, ContactRow]) -> bool:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return True  # unreadable: let the check say so
    return not isinstance(value, dict) or str(value.get("contact_id")) in rows


@dataclass(slots=True)
class _Run:
    """One run over one link: what every check needs."""

    link: LinkRecord
    writer: ContactWriter
    cause: Event
    rows: dict[str, ContactRow]
    summary: RunSummary


class ContactsReconciliation:
    """Compares a link's contacts with what the sink applied, and repairs the drift."""

    def __init__(
        self,
        *,
        store: StateStore,
        settings: ZohoSettings,
        outcomes: Outcomes,
        holder: str,
    ) -> None:
        self._store = store
        self._settings = settings
        self._outcomes = outcomes
        self._holder = holder
        self._lease_ttl = timedelta(seconds=settings.person_lease_seconds)

    async def run(
        self,
        link: LinkRecord,
        client: ZohoBooksClient,
        *,
        cause: Event,
        changed_since: datetime | None = None,
    ) -> RunSummary:
        """One run over ``link``'s contacts; its summary is also published as an outcome.

        ``changed_since``: only contacts Zoho changed from then on (a webhook's check):
        the list is read newest first and no further than that, and a contact it does not
        show is not looked for (the whole runs find deletions).
        """
        summary = RunSummary()
        try:
            async with self._store.transaction() as repos:
                stored = await repos.mappings.list(link.id, kind=APPLIED)
            rows = await _rows(client, changed_since)
            run = _Run(link, ContactWriter(client, self._settings), cause, rows, summary)
            for mapping in stored:
                if changed_since is not None and not _names_a_row(mapping.target_value, rows):
                    continue
                summary.checked += 1
                if not await self._check(run, mapping.source_value, mapping.target_value):
                    summary.failed += 1
        except Exception as error:
            detail = f"{summary} before it stopped: {type(error).__name__}: {error}"
            await self._summary(cause, link, WriteResult("failed", "reconcile", {}, detail))
            raise
        status: OutcomeStatus = "applied" if summary.failed == 0 else "failed"
        await self._summary(cause, link, WriteResult(status, "reconcile", {}, str(summary)))
        _log.info("zoho.reconciled", link=link.id, summary=str(summary))
        return summary

    async def _summary(self, cause: Event, link: LinkRecord, result: WriteResult) -> None:
        await self._outcomes.publish(cause, link, summary_key(link.id), result)

    async def _check(self, run: _Run, employee_key: str, text: str) -> bool:
        """One employee: True when in step or repaired, False when it needs a person."""
        try:
            applied = Applied.parse(employee_key, text)
        except MappingError as error:
            await self._review(run, employee_key, "compare", str(error))
            return False
        row = run.rows.get(applied.contact_id)
        if row is None:
            detail = (
                f"contact {applied.contact_id} is no longer in Zoho Books (deleted by hand?); "
                "the employee's next change creates it again"
            )
            await self._review(run, employee_key, "compare", detail)
            return False
        if applied.in_step(row):
            return True
        lease = f"{LEASE_PREFIX}:{run.link.id}:{employee_key}"
        ttl = self._lease_ttl
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            return await self._repair(run, employee_key)

    async def _repair(self, run: _Run, employee_key: str) -> bool:
        link = run.link
        # Read again under the lease: the sink may have written since the list was read.
        async with self._store.transaction() as repos:
            text = await repos.mappings.get(link.id, APPLIED, employee_key)
        if text is None:
            return True
        applied = Applied.parse(employee_key, text)
        contact = await run.writer.client.contact(applied.contact_id)
        if contact is None:
            await self._review(run, employee_key, "compare", "the contact was deleted")
            return False
        operations: list[str] = []
        try:
            contact = await run.writer.update(contact, applied.wanted, operations)
        except ZohoRejectedError as error:
            await self._review(run, employee_key, "repair_contact", str(error))
            return False
        async with self._store.transaction() as repos:
            await repos.mappings.put(
                link.id, APPLIED, employee_key, applied_record(applied.wanted, contact)
            )
        if operations:
            run.summary.repaired += 1
            result = WriteResult(
                "applied",
                "+".join(["repair_contact", *operations]),
                {"contact": contact.contact_id},
                "edited in Zoho Books by hand: BambooHR's values put back",
            )
            await self._outcomes.publish(run.cause, link, employee_key, result)
        return True

    async def _review(self, run: _Run, employee_key: str, operation: str, detail: str) -> None:
        result = WriteResult("needs_review", operation, {}, detail)
        await self._outcomes.publish(run.cause, run.link, employee_key, result)
