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

from datetime import datetime, timedelta
from functools import partial
from typing import Final

import orjson

from schemas.people import EmployeeChanged
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
    contact_changes,
    create_body,
    distinct_contact_name,
    fingerprint,
    matching_contact,
    our_person,
    owned_tags,
    person_changes,
    person_email,
    person_fields,
    wants_active,
)
from services.zoho.models import Contact
from services.zoho.settings import ZohoSettings

__all__ = ["APPLIED", "CONTACT", "CONTACT_PERSON", "ContactsSink"]

CONTACT: Final = "contact"  # cross-reference target kind: the Zoho contact id
CONTACT_PERSON: Final = "contact_person"  # the contact person we write
APPLIED: Final = "zoho.contact_applied"
"""Mapping kind: employee key -> JSON of the fields we last made true (reconciliation)."""
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


class ContactsSink:
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

    async def employee_changed(self, event: EmployeeChanged) -> None:
        """One write per linked Zoho organisation, each published as an outcome; a spent
        daily quota is waited out (one ``waiting`` outcome) and the write tried again."""
        for link in await self._access.links_from(event.connection_id):
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
        try:
            email = person_email(event)
        except MappingError as error:
            return WriteResult("needs_review", "match_contact", detail=str(error))
        quota = self._access.quota
        spent = await quota.spent(link.target_connection_id)
        if spent is not None:
            self._spent[link.id] = spent
            return _waiting(spent, spent.resets_at)
        client = await self._access.client(link.target_connection_id)
        target = _Contact(
            event=event, email=email, link=link, client=client, settings=self._settings
        )
        try:
            return await self._upsert.apply(link, event, target)
        except ZohoQuotaSpentError as error:
            now = quota.clock()
            seen = error.quota or VendorQuota(
                limit=0, remaining=0, resets_at=error.resets_at, observed_at=now
            )
            await quota.observed(link.target_connection_id, seen)
            self._spent[link.id] = seen
            return _waiting(error.quota, error.resets_at)
        except ZohoRejectedError as error:
            return WriteResult("needs_review", "write_contact", detail=str(error))


class _Contact:
    """One attempt at one employee: the Zoho half of the upsert."""

    lease_prefix = LEASE_PREFIX
    reference_kinds = (CONTACT, CONTACT_PERSON)

    def __init__(
        self,
        *,
        event: EmployeeChanged,
        email: str,
        link: LinkRecord,
        client: ZohoBooksClient,
        settings: ZohoSettings,
    ) -> None:
        self._event = event
        self._email = email
        self._link = link
        self._client = client
        self._settings = settings
        self._contact: Contact | None = None
        self._adopted = False  # found by email, not by our cross-reference

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._event)

    async def find(self, known: Known) -> None:
        ref = known.references.get(CONTACT)
        contact = await self._client.contact(ref.target_id) if ref else None
        if contact is None:
            rows = await self._client.contacts_with_email(self._email)
            found = [c for c in [await self._client.contact(r.contact_id) for r in rows] if c]
            contact = matching_contact(found, self._email)
            self._adopted = contact is not None
        self._contact = contact

    async def _tags(self) -> OwnedTags:
        return owned_tags(
            await self._client.reporting_tags(),
            self._event,
            department_tag=self._settings.department_tag_name,
            job_title_tag=self._settings.job_title_tag_name,
        )

    async def write(self, announce_create: AnnounceCreate) -> Written:
        written = Written(unchanged_detail="Zoho Books already matches")
        if self._contact is None:
            if not wants_active(self._event):
                written.unchanged_detail = (
                    f"no contact to write for a {self._event.status} employee"
                )
                return written
            contact = await self._create(announce_create)
            written.operations.append("create_contact")
        else:
            contact = await self._update(self._contact, written.operations)
            if self._adopted:
                # Ours from now on: made by hand, or by us before a crash lost the bookkeeping.
                written.operations.insert(0, "adopt_contact")
        self._contact = contact
        written.target_ids[CONTACT] = contact.contact_id
        person = our_person(contact, self._email)
        if person is not None:
            written.target_ids[CONTACT_PERSON] = person.contact_person_id
        return written

    async def _create(self, announce_create: AnnounceCreate) -> Contact:
        event = self._event
        body = create_body(event, contact_type=self._settings.contact_type, tags=await self._tags())
        await announce_create()
        try:
            return await self._client.create_contact(body)
        except ZohoRejectedError as error:
            if error.code != DUPLICATE_NAME_CODE:
                raise
            # Someone else holds the name (two people may share one): add the email.
            body["contact_name"] = distinct_contact_name(event)
            return await self._client.create_contact(body)

    async def _update(self, contact: Contact, operations: list[str]) -> Contact:
        """The contact's fields, our person, then the status: each only when it differs."""
        event, client = self._event, self._client
        changes = contact_changes(contact, event, await self._tags())
        if changes is not None:
            contact = await client.update_contact(contact.contact_id, changes)
            operations.append("update_contact")
        person = our_person(contact, self._email)
        if person is None:
            await client.add_person({"contact_id": contact.contact_id, **person_fields(event)})
            operations.append("add_contact_person")
        else:
            person_update = person_changes(person, event)
            if person_update is not None:
                await client.update_person(person.contact_person_id, person_update)
                operations.append("update_contact_person")
        if (contact.status == "active") != wants_active(event):
            await client.set_active(contact.contact_id, active=wants_active(event))
            operations.append("mark_active" if wants_active(event) else "mark_inactive")
        if operations:
            contact = await client.contact(contact.contact_id) or contact
        return contact

    async def record(self, repos: Repositories, written: Written) -> None:
        contact = self._contact
        applied = {
            "contact_name": self._event.display_name.strip(),
            "person": person_fields(self._event),
            "active": wants_active(self._event),
            "last_modified_time": contact.last_modified_time if contact else None,
        }
        await repos.mappings.put(
            self._link.id, APPLIED, self._event.entity_key, orjson.dumps(applied).decode()
        )
