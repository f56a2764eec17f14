"""The people sink: one ``EmployeeChanged`` made true in one FreshBooks account, once.

Order of work for one (link, employee), under a lease so replicas take turns:

1. Revision: the cross-references remember the last snapshot revision applied; an equal
   or older one is ``unchanged`` (a redelivery, or an out-of-order event that must not
   roll a newer state back).
2. Find the person before anything is created: the staff cross-reference, then staff by
   work email, then team members by email (a pending invitation) in the process's
   :class:`TeamDirectory`. An invitation is marked in the store before it is sent and
   unmarked with its bookkeeping, so after a crash in between the retry lists the team
   afresh and finds the member by email instead of inviting again.
3. Write: invite (or create staff, per ``person_create``), update the staff fields that
   differ, and change visibility in a PUT of its own (terminated -> ``vis_state`` 1,
   inactive -> 2, active -> 0): FreshBooks ignores every other field in a PUT carrying
   ``vis_state`` (sheet section 6).
4. Bookkeeping in one transaction: cross-references with the revision, and the person's
   department for expense attribution (mapping kind :data:`DEPARTMENT_BY_EMAIL`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import orjson

from schemas.people import EmployeeChanged
from services.freshbooks.client import FreshBooksClient
from services.freshbooks.mapping import (
    MappingError,
    invitation_body,
    parse_revision,
    person_email,
    revision_text,
    staff_changes,
    staff_fields,
)
from services.freshbooks.models import Staff, TeamMember
from services.freshbooks.results import WriteResult
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.team_directory import TeamDirectory
from services.runtime.leasing import held_lease
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import CrossReference, LinkRecord

__all__ = ["DEPARTMENT_BY_EMAIL", "INVITATION_SENT", "STAFF", "TEAM_MEMBER", "PeopleSink"]

STAFF = "staff"  # cross-reference target kind: the accounting staff id
TEAM_MEMBER = "team_member"  # cross-reference target kind: the team member's uuid
DEPARTMENT_BY_EMAIL = "freshbooks.department_by_email"
"""Mapping kind: lower-cased work email -> current department ("" = none), per link."""
INVITATION_SENT = "freshbooks.invitation_sent"
"""Mapping kind: lower-cased work email -> employee id, from just before an invitation is
sent until its outcome is recorded; while it stands the team directory is listed afresh."""

_VISIBILITY = {"active": 0, "terminated": 1, "inactive": 2}
_VISIBILITY_OPERATION = {0: "restore_staff", 1: "soft_delete_staff", 2: "archive_staff"}


@dataclass
class _Found:
    staff: Staff | None
    member: TeamMember | None


class PeopleSink:
    """Applies employee snapshots of one link to its FreshBooks connection."""

    def __init__(
        self,
        *,
        store: StateStore,
        client: FreshBooksClient,
        link: LinkRecord,
        settings: FreshBooksSettings,
        holder: str,
        directory: TeamDirectory,
    ) -> None:
        self._store = store
        self._client = client
        self._link = link
        self._settings = settings
        self._holder = holder
        self._directory = directory

    async def apply(self, event: EmployeeChanged) -> WriteResult:
        try:
            email = person_email(event)
        except MappingError as error:
            return WriteResult(status="needs_review", operation="match_person", detail=str(error))
        lease = f"freshbooks-person:{self._link.id}:{event.employee_id}"
        ttl = timedelta(seconds=self._settings.person_lease_seconds)
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            return await self._apply_held(event, email)

    async def _apply_held(self, event: EmployeeChanged, email: str) -> WriteResult:
        async with self._store.transaction() as repos:
            staff_ref = await repos.cross_references.get(self._link.id, event.employee_id, STAFF)
            member_ref = await repos.cross_references.get(
                self._link.id, event.employee_id, TEAM_MEMBER
            )
            department_before = await repos.mappings.get(self._link.id, DEPARTMENT_BY_EMAIL, email)
            unrecorded_invitation = await repos.mappings.get(self._link.id, INVITATION_SENT, email)
        refs = [r for r in (staff_ref, member_ref) if r]
        applied = [parse_revision(r.source_version) for r in refs]
        newest = max((r for r in applied if r is not None), default=None)
        # BambooHR's lastChanged has whole seconds: two changes in one second share a
        # revision, so an equal revision is a redelivery only if it says the same.
        fingerprint = _fingerprint(event)
        same = any(
            r.fingerprint == fingerprint for r in refs if parse_revision(r.source_version) == newest
        )
        if newest is not None and (event.revision < newest or (event.revision == newest and same)):
            why = "already applied" if event.revision == newest else "older than the one applied"
            return WriteResult(
                status="unchanged",
                operation="compare",
                target_ids=_target_ids(staff_ref, member_ref),
                detail=f"revision {revision_text(event.revision)} is {why}",
            )

        found = await self._find(
            staff_ref, member_ref, email, relist=unrecorded_invitation is not None
        )
        operations: list[str] = []
        review = ""
        if found.staff is None and event.status != "terminated":
            review = await self._create(event, found, operations)
        if found.staff is not None:
            await self._update_staff(event, found.staff, operations)
        elif event.status == "terminated" and found.member is not None:
            review = (
                "a pending invitation has no staff record to soft-delete and FreshBooks' API "
                "cannot revoke it: revoke the invitation in FreshBooks"
            )

        exists = found.staff is not None or found.member is not None
        old_email = (found.staff.email or "").lower() if found.staff else email
        if exists and (department_before != (event.department or "") or old_email != email):
            operations.append("record_department")
        if exists:
            async with self._store.transaction() as repos:
                await self._record(repos, event, email, old_email, found, staff_ref, member_ref)
        target_ids = _found_ids(found)
        if review:
            return WriteResult(
                "needs_review", "+".join(operations) or "compare", target_ids, review
            )
        if not operations:
            return WriteResult("unchanged", "compare", target_ids, "FreshBooks already matches")
        return WriteResult("applied", "+".join(operations), target_ids)

    async def _find(
        self,
        staff_ref: CrossReference | None,
        member_ref: CrossReference | None,
        email: str,
        *,
        relist: bool,
    ) -> _Found:
        staff = await self._client.get_staff(int(staff_ref.target_id)) if staff_ref else None
        if staff is None:
            matches = await self._client.find_staff_by_email(email)
            staff = min(matches, key=lambda s: s.id) if matches else None
        member: TeamMember | None = None
        if staff is None and self._settings.person_create == "invitation":
            member = await self._directory.find(
                self._client,
                email=email,
                uuid=member_ref.target_id if member_ref else None,
                relist=relist,
            )
        return _Found(staff=staff, member=member)

    async def _create(self, event: EmployeeChanged, found: _Found, operations: list[str]) -> str:
        """Make the person exist; the review reason when that is not ours to do."""
        mode = self._settings.person_create
        if mode == "staff":
            found.staff = await self._client.create_staff(staff_fields(event))
            operations.append("create_staff")
            return ""
        if mode == "none":
            return "no FreshBooks person has this email and person_create is 'none'"
        if found.member is None:
            body = invitation_body(
                event,
                business_id=self._client.business_id,
                capacity=self._settings.invitation_capacity,
            )
            email = person_email(event)
            # Marked first: if we die after FreshBooks took the invitation but before the
            # outcome is recorded, the retry lists the team afresh and finds the member.
            async with self._store.transaction() as repos:
                await repos.mappings.put(self._link.id, INVITATION_SENT, email, event.employee_id)
            uuid = await self._client.invite(body)
            operations.append("invite_team_member")
            member = await self._client.team_member(uuid) if uuid else None
            if member is not None:
                self._directory.remember(self._client, member)
            else:  # the answer named no uuid [inferred shape]: find it by email
                member = await self._directory.find(self._client, email=email, relist=True)
            found.member = member
        return ""

    async def _update_staff(self, event: EmployeeChanged, staff: Staff, ops: list[str]) -> None:
        changes = staff_changes(staff, staff_fields(event))
        # Field updates first, in their own PUT: a PUT with vis_state ignores every other key.
        if changes and staff.vis_state != 1:
            await self._client.update_staff(staff.id, changes)
            ops.append("update_staff")
        wanted = _VISIBILITY[event.status]
        if staff.vis_state != wanted:
            await self._client.set_staff_visibility(staff.id, wanted)
            ops.append(_VISIBILITY_OPERATION[wanted])
        if changes and staff.vis_state == 1 and wanted != 1:
            await self._client.update_staff(staff.id, changes)  # restored: now it takes fields
            ops.append("update_staff")

    async def _record(  # noqa: PLR0917 - one call site, every value it needs
        self,
        repos: Repositories,
        event: EmployeeChanged,
        email: str,
        old_email: str,
        found: _Found,
        staff_ref: CrossReference | None,
        member_ref: CrossReference | None,
    ) -> None:
        revision = revision_text(event.revision)
        fingerprint = _fingerprint(event)
        for kind, target, ref in (
            (STAFF, str(found.staff.id) if found.staff else None, staff_ref),
            (TEAM_MEMBER, found.member.uuid if found.member else None, member_ref),
        ):
            if target is None:
                continue
            await repos.cross_references.put(
                self._link.id,
                event.employee_id,
                kind,
                target_id=target,
                expected_revision=ref.revision if ref else None,
                fingerprint=fingerprint,
                source_version=revision,
                source_updated_at=event.source_updated_at,
            )
        await repos.mappings.delete(self._link.id, INVITATION_SENT, email)
        if old_email != email:
            await repos.mappings.delete(self._link.id, DEPARTMENT_BY_EMAIL, old_email)
        await repos.mappings.put(self._link.id, DEPARTMENT_BY_EMAIL, email, event.department or "")


def _fingerprint(event: EmployeeChanged) -> str:
    fields = {
        "fields": staff_fields(event),
        "status": event.status,
        "department": event.department,
    }
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _target_ids(*refs: CrossReference | None) -> dict[str, str]:
    return {ref.target_kind: ref.target_id for ref in refs if ref is not None}


def _found_ids(found: _Found) -> dict[str, str]:
    ids: dict[str, str] = {}
    if found.staff is not None:
        ids[STAFF] = str(found.staff.id)
    if found.member is not None:
        ids[TEAM_MEMBER] = found.member.uuid
    return ids
