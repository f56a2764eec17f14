"""The contacts sink: one ``EmployeeChanged`` made true in one Zoho Books organisation, once.

Exactly once in effect is the runtime's idempotent upsert (``services/runtime/upsert.py``).
What is Zoho's is here and in ``mapping.py`` (what a contact receives in each case):

- Find: the contact's cross-reference, then contacts by work email (``GET /contacts?email=``
  matches the contact's and every person's email; compared here case-insensitively).
- Write: create the contact with its primary person and tags; or update the contact's own
  fields, the person through its own endpoint, then mark active / inactive, each one call.
- Bookkeeping: the cross-references (contact, person) and what we last applied (mapping
  kind :data:`APPLIED`: the reconciliation compares the contact with it).
- The daily quota: while it is spent the attempt writes nothing and is ``waiting``; the
  sink waits for the reset and tries again (one outcome per wait, no failures).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Final

import orjson

from schemas.people import EmployeeChanged
from services.runtime.employee_sink import EmployeeSink
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.upsert import AnnounceCreate, IdempotentUpsert, Known, Written
from services.runtime.vendor_quota import VendorQuota
from services.zoho.access import ZohoAccess
from services.zoho.client import (
    DUPLICATE_NAME_CODE,
    ZohoBooksClient,
    ZohoQuotaSpentError,
    ZohoRejectedError,
)
from services.zoho.mapping import (
    MappingError,
    OwnedTags,
    WantedContact,
    contact_changes,
    contact_fingerprint,
    create_body,
    matching_contact,
    our_person,
    owned_tags,
    person_changes,
    wanted_contact,
)
from services.zoho.models import Contact
from services.zoho.settings import ZohoSettings

__all__ = [
    "APPLIED",
    "CONTACT",
    "CONTACT_PERSON",
    "LEASE_PREFIX",
    "ContactWriter",
    "ContactsSink",
    "applied_record",
]

CONTACT: Final = "contact"  # cross-reference target kind: the Zoho contact id
CONTACT_PERSON: Final = "contact_person"  # the contact person we write
APPLIED: Final = "zoho.contact_applied"
"""Mapping kind: employee key -> :func:`applied_record` (what the reconciliation compares)."""
LEASE_PREFIX: Final = "zoho-contact"


def _waiting(quota: VendorQuota | None, resets_at: datetime) -> WriteResult:
    used = f"{quota.used} of {quota.limit}" if quota else "all"
    return WriteResult(
        "waiting",
        "wait_for_quota",
        detail=(
            f"Zoho Books' daily quota: {used} calls used; waiting until "
            f"{resets_at.isoformat(timespec='minutes')} before writing"
        ),
    )


class ContactsSink(EmployeeSink):
    """Applies employee snapshots to every Zoho organisation linked from their source."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: ZohoAccess,
        settings: ZohoSettings,
        outcomes: Outcomes,
        holder: str,
        upsert: IdempotentUpsert | None = None,
    ) -> None:
        """``holder`` names this replica in leases; ``upsert`` replaces the kit's default."""
        self._store = store
        self._access = access
        self._settings = settings
        self._outcomes = outcomes
        self._spent: dict[str, VendorQuota] = {}  # link id -> the quota its attempt waits on
        self._upsert = upsert or IdempotentUpsert(
            store=store,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.person_lease_seconds),
        )

    reference_kinds = (CONTACT, CONTACT_PERSON)

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        return await self._access.links_from(source_connection_id)

    def fingerprint(self, event: EmployeeChanged, link: LinkRecord) -> str | None:
        try:
            return contact_fingerprint(event)
        except MappingError:
            return None  # the sink answers needs_review itself

    async def employee_changed(self, event: EmployeeChanged) -> None:
        """One write per linked Zoho organisation, each published as an outcome; a spent
        daily quota is waited out (one ``waiting`` outcome) and the write tried again."""
        for link in await self.links_from(event.connection_id):
            if not self.accepts(event, link):
                continue
            while True:
                result = await self._outcomes.attempt(
                    event, link, event.entity_key, partial(self.apply, event, link)
                )
                spent = self._spent.pop(link.id, None)
                if result.status != "waiting" or spent is None:
                    break
                await self._access.quota.wait_for_reset(spent)

    async def apply(self, event: EmployeeChanged, link: LinkRecord) -> WriteResult:
        """Make ``event`` true in ``link``'s Zoho organisation; the outcome is the caller's."""
        return await self._attempt(event, link, preview=False)

    async def preview(self, event: EmployeeChanged, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only."""
        result = await self._attempt(event, link, preview=True)
        return replace(result, action="review") if result.status == "needs_review" else result

    async def _attempt(
        self, event: EmployeeChanged, link: LinkRecord, *, preview: bool
    ) -> WriteResult:
        """:meth:`apply`, or without writing (``preview``): then no quota is kept to wait on."""
        try:
            wanted = wanted_contact(event)
        except MappingError as error:
            return WriteResult("needs_review", "match_contact", detail=str(error))
        quota = self._access.quota
        spent = await quota.spent(link.target_connection_id)
        if spent is not None:
            if not preview:
                self._spent[link.id] = spent
            return _waiting(spent, spent.resets_at)
        client = await self._access.client(link.target_connection_id)
        target = _Contact(
            event=event, wanted=wanted, link=link, writer=ContactWriter(client, self._settings)
        )
        try:
            if preview:
                return await self._upsert.preview(link, event, target)
            return await self._upsert.apply(link, event, target)
        except ZohoQuotaSpentError as error:
            if not preview:
                now = quota.clock()
                seen = error.quota or VendorQuota(
                    limit=0, remaining=0, resets_at=error.resets_at, observed_at=now
                )
                await quota.observed(link.target_connection_id, seen)
                self._spent[link.id] = seen
            return _waiting(error.quota, error.resets_at)
        except ZohoRejectedError as error:
            return WriteResult("needs_review", "write_contact", detail=str(error))


def applied_record(wanted: WantedContact, contact: Contact | None) -> str:
    """The APPLIED mapping's value: what we made true, on which contact, as of which edit."""
    return orjson.dumps(
        {
            "wanted": wanted.as_json(),
            "contact_id": contact.contact_id if contact else None,
            "last_modified_time": contact.last_modified_time if contact else None,
        },
        option=orjson.OPT_SORT_KEYS,
    ).decode()


class ContactWriter:
    """The calls that make a :class:`WantedContact` true of one organisation's contact.

    The sink uses it for every event, the reconciliation to put back a hand edit: one way
    of writing a contact, so the two can never disagree on what "in step" means.
    """

    def __init__(self, client: ZohoBooksClient, settings: ZohoSettings) -> None:
        self.client = client
        self._settings = settings

    async def tags(self, wanted: WantedContact) -> OwnedTags:
        return owned_tags(
            await self.client.reporting_tags(),
            wanted,
            department_tag=self._settings.department_tag_name,
            job_title_tag=self._settings.job_title_tag_name,
        )

    async def create(self, wanted: WantedContact, announce_create: AnnounceCreate) -> Contact:
        body = create_body(
            wanted, contact_type=self._settings.contact_type, tags=await self.tags(wanted)
        )
        await announce_create()
        try:
            return await self.client.create_contact(body)
        except ZohoRejectedError as error:
            if error.code != DUPLICATE_NAME_CODE:
                raise
            # Someone else holds the name (two people may share one): add the email.
            body["contact_name"] = wanted.distinct_name
            return await self.client.create_contact(body)

    async def update(
        self,
        contact: Contact,
        wanted: WantedContact,
        operations: list[str],
        *,
        execute: bool = True,
    ) -> Contact:
        """The contact's fields, our person, then the status: each only when it differs.

        ``operations`` gets the name of each call made; the contact as Zoho now has it is
        returned (read again when anything was written). Without ``execute`` (a preview)
        the same calls are named and none is made.
        """
        client = self.client
        changes = contact_changes(contact, wanted, await self.tags(wanted))
        if changes is not None:
            if execute:
                contact = await client.update_contact(contact.contact_id, changes)
            operations.append("update_contact")
        person = our_person(contact, wanted.email)
        if person is None:
            if execute:
                await client.add_person({"contact_id": contact.contact_id, **wanted.person})
            operations.append("add_contact_person")
        else:
            person_update = person_changes(person, wanted)
            if person_update is not None:
                if execute:
                    await client.update_person(person.contact_person_id, person_update)
                operations.append("update_contact_person")
        if (contact.status == "active") != wanted.active:
            if execute:
                await client.set_active(contact.contact_id, active=wanted.active)
            operations.append("mark_active" if wanted.active else "mark_inactive")
        if operations and execute:
            contact = await client.contact(contact.contact_id) or contact
        return contact


class _Contact:
    """One attempt at one employee: the Zoho half of the upsert."""

    lease_prefix = LEASE_PREFIX
    reference_kinds = ContactsSink.reference_kinds

    def __init__(
        self,
        *,
        event: EmployeeChanged,
        wanted: WantedContact,
        link: LinkRecord,
        writer: ContactWriter,
    ) -> None:
        self._event = event
        self._wanted = wanted
        self._link = link
        self._writer = writer
        self._contact: Contact | None = None
        self._adopted = False  # found by email, not by our cross-reference

    @property
    def fingerprint(self) -> str:
        return contact_fingerprint(self._event)

    async def find(self, known: Known) -> None:
        client = self._writer.client
        ref = known.references.get(CONTACT)
        contact = await client.contact(ref.target_id) if ref else None
        if contact is None:
            email = self._wanted.email
            rows = await client.contacts_with_email(email)
            found = [c for c in [await client.contact(r.contact_id) for r in rows] if c]
            contact = matching_contact(found, email)
            self._adopted = contact is not None
        self._contact = contact

    async def plan(self) -> Written:
        return await self._make_true(None)

    async def write(self, announce_create: AnnounceCreate) -> Written:
        return await self._make_true(announce_create)

    async def _make_true(self, announce_create: AnnounceCreate | None) -> Written:
        """The write; without ``announce_create`` (a plan) the same decisions, no call made."""
        execute = announce_create is not None
        written = Written(unchanged_detail="Zoho Books already matches")
        wanted = self._wanted
        contact = self._contact
        if contact is None:
            if not wanted.active:
                written.unchanged_detail = (
                    f"no contact to write for a {self._event.status} employee"
                )
                return written
            written.operations.append("create_contact")
            if announce_create is None:
                return written  # Zoho numbers the contact: a plan has no id to name
            contact = await self._writer.create(wanted, announce_create)
        else:
            contact = await self._writer.update(
                contact, wanted, written.operations, execute=execute
            )
            if self._adopted:
                # Ours from now on: made by hand, or by us before a crash lost the bookkeeping.
                written.operations.insert(0, "adopt_contact")
            if "mark_inactive" in written.operations:
                written.action = "deactivate"
        self._contact = contact
        written.target_ids[CONTACT] = contact.contact_id
        person = our_person(contact, wanted.email)
        if person is not None:
            written.target_ids[CONTACT_PERSON] = person.contact_person_id
        return written

    async def record(self, repos: Repositories, written: Written) -> None:
        await repos.mappings.put(
            self._link.id,
            APPLIED,
            self._event.entity_key,
            applied_record(self._wanted, self._contact),
        )
