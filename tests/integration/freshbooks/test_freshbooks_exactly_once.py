"""Exactly-once effect of the FreshBooks people sink against the sandbox on a socket:
two replicas racing, a crash between the create and its bookkeeping, in both create modes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from schemas.people import EmployeeChanged
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.sinks.people import LEASE_PREFIX, PeopleSink
from services.freshbooks.team_directory import PeopleDirectories
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store.records import LinkRecord
from services.runtime.upsert import PENDING_CREATE, IdempotentUpsert
from tests.integration.freshbooks.fb_sink_harness import SinkWorld, employee, sink_world

INVITATION = "/auth/api/v1/users/invitation"


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[SinkWorld]:
    """On SQLite and on PostgreSQL (the backend of several replicas)."""
    async with sink_world(tmp_path, database_url=database_url) as made:
        yield made


@pytest.fixture
async def staff_world(tmp_path: Path) -> AsyncIterator[SinkWorld]:
    """FreshBooks' deprecated staff create served, and the sink told to use it."""
    sandbox = FreshBooksSandbox(settings=FreshBooksSandboxSettings(staff_create_allowed=True))
    async with sink_world(tmp_path, sandbox=sandbox) as made:
        made.settings = made.settings.model_copy(update={"person_create": "staff"})
        yield made


async def link_of(world: SinkWorld) -> LinkRecord:
    async with world.store.transaction() as repos:
        link = await repos.links.get(world.link_id)
    assert link is not None
    return link


class SimulatedCrashError(Exception):
    """The process died between FreshBooks' write and our bookkeeping."""


async def _crash() -> None:
    raise SimulatedCrashError


class _NoBus:
    async def __call__(self, event: object, *, cause: object) -> None:
        raise AssertionError("apply() publishes nothing")


class Replica:
    """One service replica's sink: its own clients, token keeper and lease holder name."""

    def __init__(self, world: SinkWorld, *, crash_before_bookkeeping: bool = False) -> None:
        self.world = world
        self.connections = FreshBooksAccess(
            store=world.store, vault=world.vault, settings=world.settings
        )
        holder = f"replica-{uuid4().hex}"
        self.sink = PeopleSink(
            store=world.store,
            access=self.connections,
            settings=world.settings,
            outcomes=Outcomes(_NoBus(), service="freshbooks"),
            holder=holder,
            # Long-lived like a real process's: a listing taken before a crash is still warm.
            directories=PeopleDirectories.kept_for(timedelta(hours=1)),
            upsert=IdempotentUpsert(
                store=world.store,
                holder=holder,
                lease_ttl=timedelta(seconds=world.settings.person_lease_seconds),
                before_bookkeeping=_crash if crash_before_bookkeeping else None,
            ),
        )

    async def result(self, event: EmployeeChanged) -> WriteResult:
        return await self.sink.apply(event, await link_of(self.world))

    async def apply(self, event: EmployeeChanged) -> str:
        return (await self.result(event)).status


async def test_two_replicas_racing_on_one_hire_invite_once(world: SinkWorld) -> None:
    a, b = Replica(world), Replica(world)
    hired = employee(world, "601")
    try:
        statuses = await asyncio.gather(a.apply(hired), b.apply(hired))
    finally:
        await a.connections.aclose()
        await b.connections.aclose()

    assert sorted(statuses) == ["applied", "unchanged"]
    assert await world.count_requests("POST", INVITATION) == 1
    assert len(await world.members_with_email("maya.601@acmecreative.example")) == 1


async def test_two_replicas_racing_on_two_revisions_end_on_the_newer(world: SinkWorld) -> None:
    email = "maya.602@acmecreative.example"
    await world.action(
        "invite_team_member",
        {"email": email, "first_name": "Maya", "last_name": "Before", "accept": True},
    )
    a, b = Replica(world), Replica(world)
    try:
        await asyncio.gather(
            a.apply(employee(world, "602", version=2, last_name="Newer")),
            b.apply(employee(world, "602", version=1, last_name="Older")),
        )
    finally:
        await a.connections.aclose()
        await b.connections.aclose()

    [staff] = await world.staff_with_email(email)
    assert staff["lname"] == "Newer"


async def test_a_crash_after_the_invitation_before_the_bookkeeping_invites_nobody_twice(
    world: SinkWorld,
) -> None:
    replica = Replica(world)
    crashing = Replica(world, crash_before_bookkeeping=True)
    hired = employee(world, "603")
    email = "maya.603@acmecreative.example"
    try:
        # The replica has listed the team already (another hire), before the crash.
        assert await replica.apply(employee(world, "613")) == "applied"
        # Another process invites 603, and dies before its bookkeeping.
        with pytest.raises(SimulatedCrashError):
            await crashing.apply(hired)
        async with world.store.transaction() as repos:
            assert await repos.mappings.get(world.link_id, PENDING_CREATE, "603") is not None
        status = await replica.apply(hired)
    finally:
        await replica.connections.aclose()
        await crashing.connections.aclose()

    assert status == "applied"  # the cross-reference and department are recorded now
    assert len(await world.members_with_email(email)) == 1
    assert await world.count_requests("POST", INVITATION) == 2  # 613's and the crashed one
    async with world.store.transaction() as repos:
        assert await repos.mappings.get(world.link_id, PENDING_CREATE, "603") is None
    async with world.store.transaction() as repos:
        reference = await repos.cross_references.get(world.link_id, "603", "team_member")
    assert reference is not None


async def test_staff_mode_creates_staff_once_even_after_a_crash_before_the_bookkeeping(
    staff_world: SinkWorld,
) -> None:
    world = staff_world
    replica = Replica(world)
    crashing = Replica(world, crash_before_bookkeeping=True)
    hired = employee(world, "604")
    try:
        # The replica has listed the staff already, before the crash.
        assert await replica.apply(hired) == "applied"
        [created] = await world.staff_with_email("maya.604@acmecreative.example")

        second = employee(world, "605")
        # Another process creates 605, and dies before its bookkeeping.
        with pytest.raises(SimulatedCrashError):
            await crashing.apply(second)
        assert await replica.apply(second) == "applied"
        assert await replica.apply(second) == "unchanged"  # and a redelivery
    finally:
        await replica.connections.aclose()
        await crashing.connections.aclose()

    assert created["fname"] == "Maya"
    assert len(await world.staff_with_email("maya.605@acmecreative.example")) == 1
    staff_posts = [
        r
        for r in await world.requests()
        if r["method"] == "POST" and r["path"].endswith("/users/staffs")
    ]
    assert len(staff_posts) == 2  # one per person, the crashed one included
    assert await world.count_requests("POST", INVITATION) == 0


async def test_a_redelivery_is_unchanged_at_once_while_another_replica_holds_the_lease(
    world: SinkWorld,
) -> None:
    # A replay's events are all applied already: each is answered from one read, without
    # waiting for (or taking) the record's lease.
    replica = Replica(world)
    hired = employee(world, "604")
    try:
        assert await replica.apply(hired) == "applied"
        lease = f"{LEASE_PREFIX}:{world.link_id}:{hired.entity_key}"
        async with world.store.transaction() as repos:
            assert await repos.leases.try_acquire(lease, "a-busy-replica", ttl=timedelta(hours=1))
        again = await asyncio.wait_for(replica.result(hired), timeout=10)
        # A newer revision still waits its turn behind the lease.
        newer = employee(world, "604", version=2, last_name="Newer")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(replica.result(newer), timeout=1)
    finally:
        await replica.connections.aclose()
    assert (again.status, again.operation) == ("unchanged", "compare")
    assert "already applied" in again.detail
