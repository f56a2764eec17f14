"""The business's team members by email and uuid: listed once, kept current by our invites.

FreshBooks has no team-member lookup by email (sheet section 7.1: list and get by uuid
only), so matching a new hire by email means listing the whole team. Doing that per
person made a backfill cost two full listings per employee: quadratic in the team's size
against a vendor limit of a few requests per second. The directory lists the team once
per business (again after ``max_age``), adds the members our own invitations create, and
lists again whenever the store says something may have happened that this process did not
see: a cross-reference naming a member it does not hold, or an invitation marked as sent
by an attempt that never recorded its outcome (a crash, or another replica).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.envelope import utcnow
from services.freshbooks.client import FreshBooksClient
from services.freshbooks.models import TeamMember

__all__ = ["TeamDirectory"]


@dataclass
class _Team:
    listed_at: datetime
    by_uuid: dict[str, TeamMember] = field(default_factory=dict)
    by_email: dict[str, TeamMember] = field(default_factory=dict)

    def add(self, member: TeamMember) -> None:
        self.by_uuid[member.uuid] = member
        email = (member.email or "").strip().lower()
        if email:
            self.by_email.setdefault(email, member)


class TeamDirectory:
    """One per process, shared by every link whose target is the same business."""

    def __init__(self, *, max_age: timedelta, clock: Callable[[], datetime] = utcnow) -> None:
        self._max_age = max_age
        self._clock = clock
        self._teams: dict[str, _Team] = {}
        self._lock = asyncio.Lock()

    async def find(
        self,
        client: FreshBooksClient,
        *,
        email: str,
        uuid: str | None = None,
        relist: bool = False,
    ) -> TeamMember | None:
        """The member with ``uuid`` (else ``email``); ``relist`` when the store saw more."""
        team = await self._team(client, relist=relist)
        found = _look_up(team, email, uuid)
        if found is None and uuid is not None and not relist:
            # Our own bookkeeping names a member we do not hold: someone else invited it.
            found = _look_up(await self._team(client, relist=True), email, uuid)
        return found

    def remember(self, client: FreshBooksClient, member: TeamMember) -> None:
        """A member we just invited (read back by uuid), without listing the team again."""
        team = self._teams.get(client.business_id)
        if team is not None:
            team.add(member)

    async def _team(self, client: FreshBooksClient, *, relist: bool) -> _Team:
        async with self._lock:
            team = self._teams.get(client.business_id)
            if relist or team is None or self._clock() - team.listed_at > self._max_age:
                team = _Team(listed_at=self._clock())
                for member in await client.team_members():
                    team.add(member)
                self._teams[client.business_id] = team
            return team


def _look_up(team: _Team, email: str, uuid: str | None) -> TeamMember | None:
    if uuid is not None and uuid in team.by_uuid:
        return team.by_uuid[uuid]
    return team.by_email.get(email)
