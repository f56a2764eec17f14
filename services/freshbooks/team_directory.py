"""The FreshBooks people a process knows by email: staff and team members, listed once.

FreshBooks has no team-member lookup by email (sheet section 7.1: list and get by uuid
only), and a staff lookup by email is one call per person. Matching every new hire that
way made a backfill cost a lookup per person on top of its invitation, against a limit of
a few requests a second. The directories (the runtime's ``listed_directory.py``) list
the account's staff and the business's team once, again after
``MLC_FRESHBOOKS_TEAM_DIRECTORY_MAX_AGE_SECONDS``, take in the members our invitations
create and the staff our writes change, and list again when the store says something may
have happened that this process did not see (a cross-reference naming a record they do
not hold, an invitation marked as sent by an attempt that never recorded its outcome).

What they can miss is someone made by hand in FreshBooks since the listing, for at most
that long; and an invitee accepting (FreshBooks then makes their staff record), which the
people sink checks for with one staff lookup whenever the person it matches is a pending
invitation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.freshbooks.models import Staff, TeamMember
from services.runtime.listed_directory import ListedDirectory

__all__ = ["PeopleDirectories"]


@dataclass(frozen=True, slots=True)
class PeopleDirectories:
    """One per process, shared by every link whose target is the same account."""

    staff: ListedDirectory[Staff]
    """Per ``account_id``, by staff id."""
    team: ListedDirectory[TeamMember]
    """Per ``business_id``, by uuid."""

    @classmethod
    def kept_for(cls, max_age: timedelta) -> PeopleDirectories:
        return cls(
            staff=ListedDirectory(max_age=max_age, id_of=lambda s: str(s.id), email_of=_email),
            team=ListedDirectory(max_age=max_age, id_of=lambda m: m.uuid, email_of=_email),
        )


def _email(record: Staff | TeamMember) -> str | None:
    return record.email
