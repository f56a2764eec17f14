"""The people sink: one ``EmployeeChanged`` made true in one FreshBooks account, once.

Exactly once in effect is the runtime's idempotent upsert (``services/runtime/upsert.py``:
lease per (link, employee), revision and fingerprint, find before create, compare-and-set
cross-references, an announced create). What is FreshBooks' is here and in
``mapping.py`` (what is sent for a hire, a change, a termination):

- Find: the staff cross-reference (one GET), else the work email in the process's
  staff and team listings (:class:`~services.freshbooks.team_directory.PeopleDirectories`,
  no call once listed). A match that is only a pending invitation is looked up by email
  among the staff (one call): the invitee may have accepted since. While a create is
  announced and unrecorded (a crash after FreshBooks took the invitation, or another
  replica), both are listed afresh instead of trusting them.
- Write: invite (or create staff, per ``person_create``), then the staff PUTs of
  :func:`~services.freshbooks.mapping.staff_puts`, each visibility change alone. The
  invited member is remembered as sent (uuid from the answer), not read back; a new
  person in a backfill costs one call.
- Bookkeeping beside the cross-references: the person's department for expense
  attribution (mapping kind :data:`DEPARTMENT_BY_EMAIL`).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from typing import Final

import orjson

from schemas.people import EmployeeChanged
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.client import FreshBooksClient
from services.freshbooks.mapping import (
    NO_CREATE_REVIEW,
    PENDING_INVITATION_REVIEW,
    VISIBILITY,
    HireRequest,
    MappingError,
    hire,
    invited_member,
    person_email,
    staff_fields,
    staff_puts,
)
from services.freshbooks.models import Staff, TeamMember
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.team_directory import PeopleDirectories
from services.runtime.employee_sink import EmployeeSink
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.upsert import AnnounceCreate, IdempotentUpsert, Known, Written

__all__ = ["DEPARTMENT_BY_EMAIL", "STAFF", "TEAM_MEMBER", "PeopleSink"]

STAFF: Final = "staff"  # cross-reference target kind: the accounting staff id
TEAM_MEMBER: Final = "team_member"  # cross-reference target kind: the team member's uuid
DEPARTMENT_BY_EMAIL: Final = "freshbooks.department_by_email"
"""Mapping kind: lower-cased work email -> current department ("" = none), per link."""
LEASE_PREFIX: Final = "freshbooks-person"
_DEACTIVATIONS: Final = frozenset({"soft_delete_staff", "archive_staff"})
"""Staff PUTs a preview names ``deactivate`` rather than ``update``."""


class PeopleSink(EmployeeSink):
    """Applies employee snapshots to every FreshBooks connection linked from their source."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: FreshBooksAccess,
        settings: FreshBooksSettings,
        outcomes: Outcomes,
        holder: str,
        directories: PeopleDirectories | None = None,
        upsert: IdempotentUpsert | None = None,
    ) -> None:
        """``holder`` names this replica in leases; ``upsert`` replaces the kit's default."""
        self._store = store
        self._access = access
        self._settings = settings
        self._outcomes = outcomes
        self._upsert = upsert or IdempotentUpsert(
            store=store,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.person_lease_seconds),
        )
        self._directories = directories or PeopleDirectories.kept_for(
            timedelta(seconds=settings.team_directory_max_age_seconds)
        )

    reference_kinds = (STAFF, TEAM_MEMBER)

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        return await self._access.links_from(source_connection_id)

    def fingerprint(self, event: EmployeeChanged, link: LinkRecord) -> str:
        return person_fingerprint(event)

    async def apply(self, event: EmployeeChanged, link: LinkRecord) -> WriteResult:
        """Make ``event`` true in ``link``'s FreshBooks account; the outcome is the caller's."""
        person = await self._person(event, link)
        if isinstance(person, WriteResult):
            return person
        return await self._upsert.apply(link, event, person)

    async def preview(self, event: EmployeeChanged, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only."""
        person = await self._person(event, link)
        if isinstance(person, WriteResult):
            return replace(person, action="review")
        return await self._upsert.preview(link, event, person)

    async def _person(self, event: EmployeeChanged, link: LinkRecord) -> _Person | WriteResult:
        try:
            email = person_email(event)
        except MappingError as error:
            return WriteResult(status="needs_review", operation="match_person", detail=str(error))
        return _Person(
            event=event,
            email=email,
            link=link,
            store=self._store,
            client=await self._access.client(link.target_connection_id),
            settings=self._settings,
            directories=self._directories,
        )


def person_fingerprint(event: EmployeeChanged) -> str:
    """What FreshBooks is told of a person, as its cross-references remember it."""
    fields = {"fields": staff_fields(event), "status": event.status, "department": event.department}
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


class _Person:
    """One attempt at one employee: the FreshBooks half of the upsert."""

    lease_prefix = LEASE_PREFIX
    reference_kinds = PeopleSink.reference_kinds

    def __init__(
        self,
        *,
        event: EmployeeChanged,
        email: str,
        link: LinkRecord,
        store: StateStore,
        client: FreshBooksClient,
        settings: FreshBooksSettings,
        directories: PeopleDirectories,
    ) -> None:
        self._event = event
        self._email = email
        self._link = link
        self._store = store
        self._client = client
        self._settings = settings
        self._directories = directories
        self._staff: Staff | None = None
        self._member: TeamMember | None = None
        self._department_before: str | None = None
        self._old_email = email

    @property
    def fingerprint(self) -> str:
        return person_fingerprint(self._event)

    async def find(self, known: Known) -> None:
        async with self._store.reading() as repos:
            self._department_before = await repos.mappings.get(
                self._link.id, DEPARTMENT_BY_EMAIL, self._email
            )
        staff_ref = known.references.get(STAFF)
        member_ref = known.references.get(TEAM_MEMBER)
        relist = known.pending_create
        client = self._client
        staff = await client.get_staff(int(staff_ref.target_id)) if staff_ref else None
        if staff is None:
            staff = await self._directories.staff.find(
                client.account_id, client.all_staff, email=self._email, relist=relist
            )
        if staff is None and self._settings.person_create == "invitation":
            self._member = await self._directories.team.find(
                client.business_id,
                client.team_members,
                email=self._email,
                record_id=member_ref.target_id if member_ref else None,
                relist=relist,
            )
            if self._member is not None:
                # An invitation we know of: accepted since, it has a staff record now.
                matches = await client.find_staff_by_email(self._email)
                staff = min(matches, key=lambda s: s.id) if matches else None
        self._staff = staff

    async def write(self, announce_create: AnnounceCreate) -> Written:
        return await self._make_true(announce_create)

    async def plan(self) -> Written:
        return await self._make_true(None)

    async def _make_true(self, announce_create: AnnounceCreate | None) -> Written:
        """The write; without ``announce_create`` (a plan) the same decisions, no call made."""
        event = self._event
        written = Written(unchanged_detail="FreshBooks already matches")
        staff, hiring = self._staff, False
        if staff is None and self._member is None and event.status != "terminated":
            request = self._hire_request()
            if request is None:
                written.review = NO_CREATE_REVIEW
            else:
                hiring = True
                written.operations.append(request.operation)
                if announce_create is None:
                    staff = _as_created(request)
                else:
                    await announce_create()
                    await self._create(request)
                    staff = self._staff
        if staff is not None:
            for put in staff_puts(staff, event):
                if announce_create is not None:
                    changed = await self._client.put_staff(staff.id, put.fields)
                    self._directories.staff.remember(self._client.account_id, changed)
                written.operations.append(put.operation)
                if put.operation in _DEACTIVATIONS and not hiring:
                    written.action = "deactivate"  # a new person made inactive is a create
        elif event.status == "terminated" and self._member is not None:
            written.review = PENDING_INVITATION_REVIEW
        self._bookkeeping(written, planned_hire=hiring and announce_create is None)
        return written

    def _bookkeeping(self, written: Written, *, planned_hire: bool) -> None:
        """The ids to record, and whether the person's department needs recording.

        ``planned_hire``: a plan's new person, who has no id yet but will have a
        department to record."""
        if self._staff is not None:
            written.target_ids[STAFF] = str(self._staff.id)
            self._old_email = (self._staff.email or "").lower()
        if self._member is not None:
            written.target_ids[TEAM_MEMBER] = self._member.uuid
        moved = self._department_before != (self._event.department or "")
        if (written.target_ids or planned_hire) and (moved or self._old_email != self._email):
            written.operations.append("record_department")

    def _hire_request(self) -> HireRequest | None:
        return hire(
            self._event,
            person_create=self._settings.person_create,
            business_id=self._client.business_id,
            capacity=self._settings.invitation_capacity,
        )

    async def _create(self, request: HireRequest) -> None:
        """Send ``request``: the new staff record, or the invited team member."""
        client, directories = self._client, self._directories
        if request.operation == "create_staff":
            self._staff = await client.create_staff(request.body)
            directories.staff.remember(client.account_id, self._staff)
            return
        uuid = await client.invite(request.body)
        member: TeamMember | None
        if uuid is not None:
            member = invited_member(uuid, request.body)
            directories.team.remember(client.business_id, member)
        else:  # the answer named no uuid [inferred shape]: find it by email
            member = await directories.team.find(
                client.business_id, client.team_members, email=self._email, relist=True
            )
        self._member = member

    async def record(self, repos: Repositories, written: Written) -> None:
        link_id, email, department = self._link.id, self._email, self._event.department or ""
        if self._old_email == email and self._department_before == department:
            return  # recorded as it is: one write fewer in the bookkeeping of most changes
        if self._old_email != email:
            await repos.mappings.delete(link_id, DEPARTMENT_BY_EMAIL, self._old_email)
        await repos.mappings.put(link_id, DEPARTMENT_BY_EMAIL, email, department)


def _as_created(request: HireRequest) -> Staff | None:
    """What FreshBooks holds right after ``request``, for a plan: a staff record with the
    fields sent, active (its id is never read); an invitation makes no staff record."""
    if request.operation != "create_staff":
        return None
    return Staff.model_validate({"id": 0, **request.body, "vis_state": VISIBILITY["active"]})
