"""Replaying one link from the log (issue 19): a real broker, a real store, the FreshBooks
people sink against its sandbox in-process.

The control plane's :class:`LinkReplays` asks (the range fixed as offsets when asked), the
service's :class:`ReplayWorker` runs the part: the link's events of the range, the newest
of each record, through the sink for that link only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from sandboxes.kit import wait_until
from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from services.control.connections import ConnectionInputError
from services.control.replays import LinkReplays, ReplayRequest, kafka_range_resolver
from services.freshbooks.access import FLOW
from services.freshbooks.client import FreshBooksRejectedError
from services.freshbooks.sinks.people import STAFF, TEAM_MEMBER, PeopleSink
from services.runtime.link_replays import ReplayInput, ReplayWorker
from services.runtime.outcomes import Outcomes
from services.runtime.publishing import encode_event, stamp
from services.vendors import VENDORS
from tests.contract.freshbooks_in_process import connect_books, freshbooks_sink_replica
from tests.contract.freshbooks_people import FreshBooksPeople, freshbooks_people
from tests.contract.sink_contract import RecordingPublisher

pytestmark = pytest.mark.asyncio

_BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SERVICE = "freshbooks"


@dataclass
class Rig:
    """The binding (sandbox, store, source, link L1), the topic, and the control plane."""

    books: FreshBooksPeople
    topic: str
    replays: LinkReplays
    bootstrap: str
    stack: AsyncExitStack

    async def link(self, target: str, *, enabled: bool = True) -> str:
        async with self.books.store.transaction() as repos:
            created = await repos.links.create(
                source_connection_id=self.books.source_connection_id,
                target_connection_id=target,
                flow=FLOW,
                enabled=enabled,
            )
        return created.id

    async def first_link(self) -> str:
        async with self.books.store.transaction() as repos:
            [link] = await repos.links.list(connection_id=self.books.source_connection_id)
        return link.id

    async def sink(self) -> PeopleSink:
        return await self.stack.enter_async_context(
            freshbooks_sink_replica(self.books, PeopleSink, lease_seconds=10, crashing=False)
        )

    async def worker(
        self, *, hold_seconds: float = 30.0, published: RecordingPublisher | None = None
    ) -> tuple[ReplayWorker, RecordingPublisher]:
        published = published or RecordingPublisher()
        worker = ReplayWorker(
            store=self.books.store,
            outcomes=Outcomes(published, service=SERVICE),
            bootstrap_servers=self.bootstrap,
            service=SERVICE,
            holder=f"test-{uuid4().hex}",
            inputs=[ReplayInput(FLOW, self.topic, (EmployeeChanged,), await self.sink())],
            poll_seconds=0.05,
            hold_seconds=hold_seconds,
        )
        return worker, published

    def hire(self, n: int, *, version: int = 1, last: str = "Lopez") -> EmployeeChanged:
        return stamp(
            EmployeeChanged(
                connection_id=self.books.source_connection_id,
                occurred_at=_BASE + timedelta(minutes=version),
                source_updated_at=_BASE + timedelta(minutes=version),
                employee_id=f"e{n}",
                status="active",
                first_name="Maya",
                last_name=last,
                work_email=f"e{n}@acmecreative.example",
                department="Engineering",
            )
        )

    async def publish(self, events: list[EmployeeChanged]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            for event in events:
                key = f"{event.connection_id}:{event.entity_key}".encode()
                await producer.send_and_wait(self.topic, encode_event(event), key=key)
        finally:
            await producer.stop()

    async def references(self, link_id: str, people: int) -> list[object]:
        """Every cross-reference of ``link_id`` for e0.. e<people - 1>, as stored."""
        async with self.books.store.transaction() as repos:
            return [
                await repos.cross_references.get(link_id, f"e{n}", kind)
                for n in range(people)
                for kind in (STAFF, TEAM_MEMBER)
            ]

    async def invited(self, n: int) -> int:
        email = f"e{n}@acmecreative.example"
        return sum(1 for m in await self.books.state("team_members") if m.get("email") == email)


@pytest.fixture
async def rig(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: Callable[..., Awaitable[str]]
) -> AsyncIterator[Rig]:
    topic = await kafka_topic("people.employee", partitions=2)
    async with freshbooks_people(tmp_path) as books, AsyncExitStack() as stack:
        yield Rig(
            books=books,
            topic=topic,
            replays=LinkReplays(
                books.store,
                resolve=kafka_range_resolver(kafka_bootstrap),
                sinks={FLOW: [(SERVICE, topic)]},
                vendors=VENDORS,
            ),
            bootstrap=kafka_bootstrap,
            stack=stack,
        )


async def _run_to_the_end(rig: Rig, worker: ReplayWorker, replay_id: str) -> dict[str, int]:
    async def finished() -> dict[str, int] | None:
        await worker.run_once()
        view = await rig.replays.show(replay_id)
        return view.totals if view.replay.state != "running" else None

    return await wait_until(finished, timeout_seconds=60, message="the replay to finish")


async def test_failed_writes_are_written_once_by_a_replay_and_the_rest_come_out_unchanged(
    rig: Rig,
) -> None:
    first, second = await rig.first_link(), None
    _, other_books = await connect_books(rig.books.control, rig.books.store, rig.books.vault)
    second = await rig.link(other_books)
    hires = [rig.hire(n) for n in range(10)]
    await rig.publish(hires)
    live = await rig.sink()
    for event in hires[:4]:
        await live.employee_changed(event)  # both links written
    await rig.books.faults([{"path": "/users/invitation", "status": 400, "count": 1000}])
    for event in hires[4:]:
        with pytest.raises(FreshBooksRejectedError):
            await live.employee_changed(event)  # what the bus dead-letters
    await rig.books.control.delete("/_sandbox/faults")  # the cause fixed
    second_before = await rig.references(second, 10)

    asked = await rig.replays.request(ReplayRequest(link_id=first, requested_by="ops"))
    worker, published = await rig.worker()
    totals = await _run_to_the_end(rig, worker, asked.replay.id)

    assert totals == {"records": 10, "done": 10, "applied": 6, "unchanged": 4}
    assert {o.link_id for o in published.outcomes} == {first}
    for n in range(10):
        assert await rig.invited(n) == 1, f"e{n}"
    assert await rig.references(second, 10) == second_before
    async with rig.books.store.transaction() as repos:
        [audited] = [
            entry
            for entry in await repos.audit_log.list(subject=first)
            if entry.action == "replay.finished"
        ]
    assert audited.detail["requested_by"] == "ops"
    assert (audited.detail["applied"], audited.detail["unchanged"]) == (6, 4)

    again = await rig.replays.request(ReplayRequest(link_id=first))
    worker, published = await rig.worker()
    assert await _run_to_the_end(rig, worker, again.replay.id) == {
        "records": 10,
        "done": 10,
        "unchanged": 10,
    }


async def test_a_dry_run_of_a_preview_link_lists_exactly_what_its_live_run_then_does(
    rig: Rig,
) -> None:
    _, other_books = await connect_books(rig.books.control, rig.books.store, rig.books.vault)
    preview = await rig.link(other_books, enabled=False)
    # Two copies of e1: only the newest is driven, so the plan is one row per record.
    await rig.publish(
        [rig.hire(1), rig.hire(2), rig.hire(1, version=2, last="Okafor"), rig.hire(3)]
    )
    writes_before = await rig.books.writes()

    dry = await rig.replays.request(ReplayRequest(link_id=preview, dry_run=True))
    worker, published = await rig.worker()
    assert await _run_to_the_end(rig, worker, dry.replay.id) == {
        "records": 3,
        "done": 3,
        "applied": 3,
    }
    plan = await rig.replays.plan(dry.replay.id)
    assert published.outcomes == []
    assert await rig.books.writes() == writes_before
    assert [(row.action, row.status) for row in plan] == [("create", "applied")] * 3

    live = await rig.replays.go_live(preview, requested_by="ops")
    worker, published = await rig.worker()
    await _run_to_the_end(rig, worker, live.replay.id)
    done = {(o.entity_key, o.status, o.operation) for o in published.outcomes}
    listed = {(row.entity_key.partition(":")[2], row.status, row.operation) for row in plan}
    assert done == listed
    for n in (1, 2, 3):
        assert await rig.invited(n) == 1


class StallingPublisher(RecordingPublisher):
    """Records ``after`` outcomes, then never returns from the next."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self._after = after

    async def __call__(self, event: SyncOutcome, *, cause: Event) -> None:
        await super().__call__(event, cause=cause)
        if len(self.outcomes) >= self._after:
            await asyncio.Event().wait()


async def test_a_replay_killed_halfway_and_taken_over_ends_in_the_same_state(rig: Rig) -> None:
    link = await rig.first_link()
    await rig.publish([rig.hire(n) for n in range(8)])
    asked = await rig.replays.request(ReplayRequest(link_id=link))
    # It hangs after its third write, as a process does in the moment it is killed: the
    # cancel below then always lands mid-run (the eight writes could otherwise all finish
    # before it, and nothing would be taken over).
    doomed, published = await rig.worker(hold_seconds=1.0, published=StallingPublisher(3))
    running = asyncio.create_task(doomed.run_once())
    await wait_until(
        lambda: len(published.outcomes) >= 3, timeout_seconds=30, message="three writes"
    )
    running.cancel()  # the process dies: no progress saved after this, the part stays held
    with pytest.raises(asyncio.CancelledError):
        await running

    successor, _ = await rig.worker(hold_seconds=1.0)
    totals = await _run_to_the_end(rig, successor, asked.replay.id)

    assert totals["records"] == 8
    assert totals["done"] == 8
    assert totals.get("failed", 0) == 0
    for n in range(8):
        assert await rig.invited(n) == 1, f"e{n}"


async def test_a_bad_point_or_record_is_refused_before_anything_is_written(rig: Rig) -> None:
    link = await rig.first_link()
    for request, words in (
        (ReplayRequest(link_id=link, since="yesterday"), "not a point of the log"),
        (ReplayRequest(link_id=link, since="2026-12-05T09:00"), "no time zone"),
        (ReplayRequest(link_id=link, entity="nobody:1"), "is not <vendor>:<id>"),
        (ReplayRequest(link_id=link, entity="zoho:1"), "this link joins"),
    ):
        with pytest.raises(ConnectionInputError, match=words):
            await rig.replays.request(request)
    async with rig.books.store.transaction() as repos:
        assert await repos.replays.recent(link_id=link) == []
