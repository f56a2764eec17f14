"""The runtime's idempotent upsert with a target of plain values: what it decides, what it keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.people import EmployeeChanged
from services.runtime.store import Repositories, StaleRevisionError, StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.upsert import (
    PENDING_CREATE,
    SETTLED_WITHOUT_RECORD,
    AnnounceCreate,
    IdempotentUpsert,
    Known,
    Written,
    revision_text,
)

_AT = datetime(2026, 3, 1, tzinfo=UTC)


class Target:
    """A target system of one dict: creates once per missing record, remembers what it saw."""

    lease_prefix = "test-record"
    reference_kinds = ("record",)

    def __init__(self, system: dict[str, str], snapshot: EmployeeChanged) -> None:
        self.system = system
        self.snapshot = snapshot
        self.known: Known | None = None
        self.recorded = False

    @property
    def fingerprint(self) -> str:
        return self.snapshot.last_name

    async def find(self, known: Known) -> None:
        self.known = known

    async def write(self, announce_create: AnnounceCreate) -> Written:
        written = Written()
        key = self.snapshot.employee_id
        if key not in self.system:
            await announce_create()
            written.operations.append("create")
        if self.system.get(key) != self.snapshot.last_name:
            self.system[key] = self.snapshot.last_name
            written.operations.append("write")
        written.target_ids["record"] = f"t-{key}"
        return written

    async def plan(self) -> Written:
        planned = Written()
        key = self.snapshot.employee_id
        if key not in self.system:
            planned.operations.append("create")
        else:
            planned.target_ids["record"] = f"t-{key}"
        if self.system.get(key) != self.snapshot.last_name:
            planned.operations.append("write")
        return planned

    async def record(self, repos: Repositories, written: Written) -> None:
        self.recorded = True


def snapshot(
    link: LinkRecord,
    *,
    minute: int,
    name: str = "Lopez",
    employee_id: str = "7",
    status: str = "active",
) -> EmployeeChanged:
    return EmployeeChanged(
        connection_id=link.source_connection_id,
        occurred_at=_AT,
        source_updated_at=_AT + timedelta(minutes=minute),
        employee_id=employee_id,
        status=status,
        first_name="Maya",
        last_name=name,
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[StateStore, LinkRecord]]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    async with store.transaction() as repos:
        source = await repos.connections.create(vendor="a", tenant_id="t", display_name="A")
        target = await repos.connections.create(vendor="b", tenant_id="t", display_name="B")
        link = await repos.links.create(
            source_connection_id=source.id, target_connection_id=target.id, flow="f"
        )
    try:
        yield store, link
    finally:
        await store.close()


def upsert(store: StateStore) -> IdempotentUpsert:
    return IdempotentUpsert(store=store, holder="h", lease_ttl=timedelta(seconds=5))


async def test_an_equal_revision_saying_something_else_is_applied_and_an_older_one_is_not(
    world: tuple[StateStore, LinkRecord],
) -> None:
    store, link = world
    system: dict[str, str] = {}
    kit = upsert(store)

    first = await kit.apply(
        link, snapshot(link, minute=2), Target(system, snapshot(link, minute=2))
    )
    same_second = snapshot(link, minute=2, name="Lopez-Diaz")
    second = await kit.apply(link, same_second, Target(system, same_second))
    again = await kit.apply(link, same_second, Target(system, same_second))
    older = snapshot(link, minute=1, name="Old")
    late = await kit.apply(link, older, Target(system, older))

    assert (first.status, first.operation) == ("applied", "create+write")
    assert second.status == "applied"
    assert again.status == "unchanged"
    assert "already applied" in again.detail
    assert late.status == "unchanged"
    assert "older" in late.detail
    assert system == {"7": "Lopez-Diaz"}


async def test_an_announced_create_is_marked_until_its_bookkeeping_and_told_to_the_next_find(
    world: tuple[StateStore, LinkRecord],
) -> None:
    store, link = world
    system: dict[str, str] = {}

    async def die() -> None:
        raise RuntimeError("crash")

    hired = snapshot(link, minute=1)
    crashing = IdempotentUpsert(
        store=store, holder="h", lease_ttl=timedelta(seconds=5), before_bookkeeping=die
    )
    with pytest.raises(RuntimeError):
        await crashing.apply(link, hired, Target(system, hired))
    async with store.transaction() as repos:
        assert await repos.mappings.get(link.id, PENDING_CREATE, "7") == "h"

    retry = Target(system, hired)
    result = await upsert(store).apply(link, hired, retry)

    assert retry.known is not None
    assert retry.known.pending_create
    assert retry.recorded
    assert result.status == "unchanged"  # the crashed attempt's write is already there
    async with store.transaction() as repos:
        assert await repos.mappings.get(link.id, PENDING_CREATE, "7") is None
        reference = await repos.cross_references.get(link.id, "7", "record")
    assert reference is not None
    assert reference.target_id == "t-7"


async def test_bookkeeping_that_lost_a_race_fails_instead_of_overwriting(
    world: tuple[StateStore, LinkRecord],
) -> None:
    store, link = world
    system: dict[str, str] = {}
    hired = snapshot(link, minute=1)

    async def someone_else_records_first() -> None:
        async with store.transaction() as repos:
            await repos.cross_references.put(
                link.id, "7", "record", target_id="t-other", expected_revision=None
            )

    kit = IdempotentUpsert(
        store=store,
        holder="h",
        lease_ttl=timedelta(seconds=5),
        before_bookkeeping=someone_else_records_first,
    )
    with pytest.raises(StaleRevisionError):
        await kit.apply(link, hired, Target(system, hired))


async def test_a_preview_plans_what_apply_then_does_and_leaves_no_trace(
    world: tuple[StateStore, LinkRecord],
) -> None:
    store, link = world
    system: dict[str, str] = {}
    kit = upsert(store)
    hired = snapshot(link, minute=1)

    to_create = await kit.preview(link, hired, Target(system, hired))
    async with store.transaction() as repos:
        assert await repos.cross_references.get(link.id, "7", "record") is None
        assert await repos.mappings.get(link.id, PENDING_CREATE, "7") is None
    assert system == {}
    done = await kit.apply(link, hired, Target(system, hired))
    renamed = snapshot(link, minute=2, name="Okafor")
    to_update = await kit.preview(link, renamed, Target(system, renamed))
    after = await kit.preview(link, hired, Target(system, hired))

    assert (to_create.status, to_create.operation, to_create.action) == (
        "applied",
        "create+write",
        "create",
    )
    assert (done.status, done.operation) == ("applied", to_create.operation)
    assert (to_update.operation, to_update.action) == ("write", "update")
    assert (after.status, after.action) == ("unchanged", "")


class NoRecordTarget(Target):
    """A target where a terminated person needs no record: nothing found, nothing made."""

    def __init__(self, system: dict[str, str], snapshot: EmployeeChanged) -> None:
        super().__init__(system, snapshot)
        self.found = False

    async def find(self, known: Known) -> None:
        self.found = True
        self.known = known

    async def write(self, announce_create: AnnounceCreate) -> Written:
        if self.snapshot.status == "terminated":
            return Written(unchanged_detail="nobody to terminate")
        return await super().write(announce_create)


async def test_a_snapshot_that_needs_no_record_is_remembered_so_its_redelivery_is_not_looked_up(
    world: tuple[StateStore, LinkRecord],
) -> None:
    store, link = world
    system: dict[str, str] = {}
    kit = upsert(store)
    gone = snapshot(link, minute=1, status="terminated")

    first_target = NoRecordTarget(system, gone)
    first = await kit.apply(link, gone, first_target)
    again_target = NoRecordTarget(system, gone)
    again = await kit.apply(link, gone, again_target)
    async with store.reading() as repos:
        kept = await repos.mappings.get(link.id, SETTLED_WITHOUT_RECORD, gone.entity_key)

    assert (first.status, first.detail, first_target.found) == (
        "unchanged",
        "nobody to terminate",
        True,
    )
    assert kept is not None
    assert kept.startswith(revision_text(gone.revision) + "|")
    assert (again.status, again_target.found) == ("unchanged", False)  # answered from the store
    assert "already applied" in again.detail

    # Rehired: a newer revision is written, and what was kept for the old one goes.
    rehired = snapshot(link, minute=2)
    back = await kit.apply(link, rehired, NoRecordTarget(system, rehired))
    async with store.reading() as repos:
        left = await repos.mappings.get(link.id, SETTLED_WITHOUT_RECORD, gone.entity_key)
    assert back.status == "applied"
    assert left is None
    assert system == {"7": "Lopez"}
