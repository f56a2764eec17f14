"""Team members, the current people API (sheet section 7.1), and the invitation that adds one.

`GET /auth/api/v1/businesses/{business_id}/team_members[?active=true&page&per_page]` answers
`{"response": [...], "meta": {"page", "per_page", "total"}}` (no `pages`); one member is
`{"response": {...}}`. There is no public create or deactivate: the invitation
(`POST /auth/api/v1/users/invitation`, response shape unknown [inferred]) adds a pending member
(`identity_id` null) and the control API accepts or deactivates, as a person would in the UI.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sandboxes.freshbooks.errors import accounting_error
from sandboxes.freshbooks.resources import STAFF, public
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.freshbooks.state import Books
from sandboxes.freshbooks.timefmt import iso_z
from sandboxes.kit import Record, SandboxClock, State

__all__ = ["Team", "team_member_record"]

MEMBER_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "job_title",
    "street_1",
    "street_2",
    "city",
    "province",
    "country",
    "postal_code",
    "phone_number",
)


def team_member_record(
    values: Mapping[str, Any], *, business_id: int, now: str, member_uuid: str | None = None
) -> Record:
    member = str(member_uuid or uuid.uuid4())
    record: Record = {"id": member, "uuid": member}
    record.update({name: values.get(name) for name in MEMBER_FIELDS})
    record.update(
        {
            "business_id": business_id,
            "business_role_name": values.get("business_role_name", "employee"),
            "active": bool(values.get("active", True)),
            "identity_id": values.get("identity_id"),
            "invitation_date_accepted": values.get("invitation_date_accepted"),
            "created_at": now,
            "updated_at": now,
        }
    )
    return record


def _view(record: Record) -> Record:
    out = public(record)
    out.pop("id", None)
    return out


class Team:
    def __init__(
        self, state: State, clock: SandboxClock, settings: FreshBooksSandboxSettings, books: Books
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings
        self.books = books

    def list_members(self, business_id: int, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            page = max(1, int(params.get("page") or 1))
            per_page = min(
                100, max(1, int(params.get("per_page") or self.settings.default_per_page))
            )
        except ValueError:
            raise accounting_error(400, 1014, "Invalid page or per_page.") from None
        members = [m for m in self.state.records("team_members") if m["business_id"] == business_id]
        active = params.get("active")
        if active is not None:
            members = [m for m in members if m["active"] is (active.lower() == "true")]
        start = (page - 1) * per_page
        items = [_view(m) for m in members[start : start + per_page]]
        return {
            "response": items,
            "meta": {"page": page, "per_page": per_page, "total": len(members)},
        }

    def get(self, business_id: int, member_uuid: str) -> dict[str, Any]:
        member = self.state.get("team_members", member_uuid)
        if member is None or member["business_id"] != business_id:
            raise accounting_error(404, 1012, "Team member not found.")
        return {"response": _view(member)}

    def invite(self, business_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        email = body.get("to_email")
        if not isinstance(email, str) or "@" not in email:
            raise accounting_error(422, 1004, "to_email is invalid.", field="to_email")
        existing = self.find(email)
        if existing is None:
            existing = team_member_record(
                {
                    "email": email,
                    "first_name": body.get("first_name"),
                    "last_name": body.get("last_name"),
                    "business_role_name": body.get("capacity", "employee"),
                },
                business_id=business_id,
                now=iso_z(self.clock.now()),
            )
            self.state.insert("team_members", existing)
        invitation = {
            "to_email": email,
            "capacity": body.get("capacity", "employee"),
            "invitable_id": business_id,
            "invitable_type": "business",
            "team_member_uuid": existing["uuid"],
        }
        return {"response": {"invitation": invitation}}

    def find(self, key: str) -> Record | None:
        """A team member by uuid or (case-insensitive) email."""
        found = self.state.get("team_members", key)
        if found is not None:
            return found
        lowered = key.lower()
        return next(
            (
                m
                for m in self.state.records("team_members")
                if str(m.get("email")).lower() == lowered
            ),
            None,
        )

    def accept(self, member: Record) -> Record:
        """The invitee accepts: an identity id, and (setting) an accounting staff record."""
        now = self.clock.now()
        if member.get("identity_id") is None:
            member["identity_id"] = 500000 + len(self.state.records("team_members"))
            member["invitation_date_accepted"] = iso_z(now)
        member["updated_at"] = iso_z(now)
        if self.settings.staff_for_accepted_team_members and member.get("_staffid") is None:
            staff = self.books.new_staff(
                first_name=str(member.get("first_name") or ""),
                last_name=str(member.get("last_name") or ""),
                email=str(member["email"]),
                organization="",
            )
            self.state.insert("staff", staff)
            member["_staffid"] = staff["id"]
        return member

    def deactivate(self, member: Record) -> Record:
        """Removed in the UI: inactive, and its staff record soft-deleted [inferred]."""
        member["active"] = False
        member["updated_at"] = iso_z(self.clock.now())
        staff_id = member.get("_staffid")
        if staff_id is not None and self.state.get("staff", staff_id) is not None:
            self.books.update(STAFF, str(staff_id), {"vis_state": 1})
        return member
