"""The sink contract: what every sink promises about effects, whatever the bus does.

Kafka delivers at least once, out of order across retries, to more than one replica
during a rebalance, and a process can die between any two lines. Every sink answers that
with the runtime's idempotent upsert (``services/runtime/upsert.py``); this suite proves it
for each sink against its vendor's sandbox, in-process (the sandbox's ASGI app through
httpx, a real SQLite store, outcomes caught at the bus edge by :class:`RecordingPublisher`):

- a redelivery is ``unchanged`` and writes nothing;
- an older revision is ``unchanged`` and writes nothing;
- a crash between the create and the bookkeeping: the retry finds the record instead of
  creating it again;
- two replicas given the same record at once create it once;
- a 429 storm duplicates nothing;
- a preview (a dry run) writes nothing, and names what the live write then does;
- a sink whose batches are screened first (:class:`AppliedScreenContract`): the screen
  answers only what the sink would answer ``unchanged``, with the same outcome.

A sink adopts it with a :class:`SinkBinding` (how to build a replica of the sink, a record
of its source, and what to count in its sandbox) and three lines::

    @pytest.fixture
    async def binding(tmp_path: Path) -> AsyncIterator[SinkBinding]:
        async with my_sink_binding(tmp_path) as bound:
            yield bound

    class TestMySink(SinkContract):
        pass
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any, Protocol

import pytest

from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.snapshot import Snapshot
from services.runtime.outcomes import WriteResult
from services.runtime.publishing import stamp
from services.runtime.store import LinkRecord, StateStore
from services.runtime.upsert import IdempotentUpsert

__all__ = [
    "AppliedScreenContract",
    "Deliver",
    "Preview",
    "PreviewingSink",
    "RecordingPublisher",
    "Screen",
    "ScreeningBinding",
    "SimulatedCrashError",
    "SinkBinding",
    "SinkContract",
    "crash",
    "link_previewer",
    "replica_upsert",
]

Deliver = Callable[[Snapshot], Awaitable[None]]
"""What the sink's subscriber does with one message (outcomes go to the binding's recorder)."""

Preview = Callable[[Snapshot], Awaitable[WriteResult]]
"""The sink's ``preview`` of one snapshot for the binding's link: what ``apply`` would do."""

# The bus retries a message that raised; a storm must end well before this many tries.
_REDELIVERIES = 20


class SimulatedCrashError(Exception):
    """The process died between the vendor's write and our bookkeeping of it."""


async def crash() -> None:
    """A ``before_bookkeeping`` hook for the runtime's upsert: the crash, at that moment."""
    raise SimulatedCrashError


def replica_upsert(
    store: StateStore, holder: str, *, lease_seconds: float, crashing: bool
) -> IdempotentUpsert:
    """One replica's upsert (its own lease holder); ``crashing`` plays :func:`crash`."""
    return IdempotentUpsert(
        store=store,
        holder=holder,
        lease_ttl=timedelta(seconds=lease_seconds),
        before_bookkeeping=crash if crashing else None,
    )


class PreviewingSink(Protocol):
    async def preview(self, event: Any, link: LinkRecord) -> WriteResult: ...


@asynccontextmanager
async def link_previewer(
    replica: AbstractAsyncContextManager[PreviewingSink], store: StateStore
) -> AsyncIterator[Preview]:
    """``replica``'s sink previewing for the binding's one link (what ``previewer`` gives)."""
    async with replica as sink:
        async with store.transaction() as repos:
            [link] = await repos.links.list()

        async def preview(snapshot: Snapshot) -> WriteResult:
            return await sink.preview(snapshot, link)

        yield preview


class RecordingPublisher:
    """The bus edge of :class:`services.runtime.outcomes.Outcomes`, as a list."""

    def __init__(self) -> None:
        self.outcomes: list[SyncOutcome] = []

    async def __call__(self, event: SyncOutcome, *, cause: Event) -> None:
        self.outcomes.append(stamp(event, cause=cause))


class SinkBinding(Protocol):
    """One sink bound to its sandbox for the contract: the few lines a sink writes."""

    @property
    def published(self) -> RecordingPublisher: ...

    @property
    def storm(self) -> Sequence[Mapping[str, Any]]:
        """``/_sandbox/faults`` rules that refuse the sink's calls with 429s, some without
        ``Retry-After`` (handed back to the bus) and some with (waited out by the client)."""

    def record(self, entity: str, *, version: int = 1, variant: int = 0) -> Snapshot:
        """The source's snapshot of record ``entity`` at ``version``; ``variant`` changes
        what it says (a name, say) without changing which record it is."""

    def replica(
        self, *, crash_before_bookkeeping: bool = False
    ) -> AbstractAsyncContextManager[Deliver]:
        """A new replica of the sink (its own clients, caches and lease holder) on the one store;
        with ``crash_before_bookkeeping`` its upsert raises :class:`SimulatedCrashError` there."""

    def previewer(self) -> AbstractAsyncContextManager[Preview]:
        """A new replica of the sink, for its ``preview`` of the binding's link."""

    async def created(self, entity: str) -> int:
        """How many target records exist in the sandbox for ``entity``."""

    async def writes(self) -> int:
        """Write calls (POST, PUT, PATCH, DELETE) the sandbox answered with success so far."""

    async def faults(self, rules: Sequence[Mapping[str, Any]]) -> None:
        """Install ``rules`` on the sandbox's ``/_sandbox/faults``."""

    async def refused(self) -> int:
        """Calls the sandbox answered 429."""


def statuses(binding: SinkBinding, entity: str) -> list[str]:
    key = binding.record(entity).entity_key  # a record's key may hold more than the entity
    return [o.status for o in binding.published.outcomes if o.entity_key == key]


async def deliver_until_handled(deliver: Deliver, snapshot: Snapshot) -> int:
    """What the bus does: deliver again after an error, until the handler returns."""
    errors: list[str] = []
    for attempt in range(1, _REDELIVERIES + 1):
        try:
            await deliver(snapshot)
        except Exception as error:  # any handler error means "deliver it again"
            errors.append(f"{type(error).__name__}: {error}")
        else:
            return attempt
    pytest.fail(f"{snapshot.entity_key} still failing after {_REDELIVERIES} deliveries: {errors}")


class SinkContract:
    """Subclass per sink, with a ``binding`` fixture returning its :class:`SinkBinding`."""

    async def test_a_redelivery_is_unchanged_and_writes_nothing(self, binding: SinkBinding) -> None:
        hired = binding.record("c-redelivered")
        async with binding.replica() as deliver:
            await deliver(hired)
            writes = await binding.writes()
            await deliver(hired)

        assert statuses(binding, "c-redelivered") == ["applied", "unchanged"]
        assert await binding.writes() == writes
        assert await binding.created("c-redelivered") == 1

    async def test_an_older_revision_is_unchanged_and_writes_nothing(
        self, binding: SinkBinding
    ) -> None:
        async with binding.replica() as deliver:
            await deliver(binding.record("c-late", version=2))
            writes = await binding.writes()
            await deliver(binding.record("c-late", version=1, variant=1))

        assert statuses(binding, "c-late") == ["applied", "unchanged"]
        key = binding.record("c-late").entity_key
        [late] = [o for o in binding.published.outcomes if o.entity_key == key][1:]
        assert "older" in late.detail
        assert await binding.writes() == writes

    async def test_a_crash_between_create_and_bookkeeping_finds_the_record_not_creating_it_again(
        self, binding: SinkBinding
    ) -> None:
        hired = binding.record("c-crashed")
        async with binding.replica(crash_before_bookkeeping=True) as crashing:
            with pytest.raises(SimulatedCrashError):
                await crashing(hired)
        assert await binding.created("c-crashed") == 1  # the effect happened, unrecorded

        async with binding.replica() as restarted:
            await restarted(hired)
            await restarted(hired)

        assert statuses(binding, "c-crashed") == ["failed", "applied", "unchanged"]
        assert await binding.created("c-crashed") == 1

    async def test_two_replicas_given_one_record_at_once_create_it_once(
        self, binding: SinkBinding
    ) -> None:
        hired = binding.record("c-raced")
        async with binding.replica() as first, binding.replica() as second:
            await asyncio.gather(first(hired), second(hired))

        assert sorted(statuses(binding, "c-raced")) == ["applied", "unchanged"]
        assert await binding.created("c-raced") == 1

    async def test_a_429_storm_duplicates_nothing(self, binding: SinkBinding) -> None:
        await binding.faults(binding.storm)
        entities = [f"c-storm-{n}" for n in range(4)]
        async with binding.replica() as deliver:
            for entity in entities:
                await deliver_until_handled(deliver, binding.record(entity))

        assert await binding.refused() > 0, "the storm was met"
        for entity in entities:
            assert await binding.created(entity) == 1, entity
            assert statuses(binding, entity)[-1] == "applied", entity

    async def test_a_preview_writes_nothing_and_names_what_the_write_then_does(
        self, binding: SinkBinding
    ) -> None:
        new = binding.record("c-previewed")
        changed = binding.record("c-previewed", version=2, variant=1)
        key = new.entity_key
        async with binding.previewer() as preview:
            writes = await binding.writes()
            to_create = await preview(new)
            assert await binding.writes() == writes, "a preview wrote"
            assert await binding.created("c-previewed") == 0
        async with binding.replica() as deliver:
            await deliver(new)
        async with binding.previewer() as preview:
            to_update = await preview(changed)
            writes = await binding.writes()
            assert (await preview(new)).status == "unchanged"
            assert await binding.writes() == writes, "a preview wrote"
        async with binding.replica() as deliver:
            await deliver(changed)
        async with binding.previewer() as preview:
            after = await preview(changed)

        created, updated = [o for o in binding.published.outcomes if o.entity_key == key]
        assert (to_create.status, to_create.action) == ("applied", "create")
        assert (created.status, created.operation) == ("applied", to_create.operation)
        # A change may be a person's to decide (a booked report edited), or one the target
        # cannot take yet (a pending invitation): the preview says the same either way.
        assert (updated.status, updated.operation) == (to_update.status, to_update.operation)
        expected_actions = {
            "applied": ("update", "deactivate"),
            "needs_review": ("review",),
            "unchanged": ("",),
        }[to_update.status]
        assert to_update.action in expected_actions
        expected_after = "needs_review" if updated.status == "needs_review" else "unchanged"
        assert after.status == expected_after
        assert await binding.created("c-previewed") == 1


Screen = Callable[[Sequence[Snapshot]], Awaitable[Collection[int]]]
"""A sink's screen of a batch (``services/runtime/applied_screen.py``): the positions it
answered."""


class ScreeningBinding(SinkBinding, Protocol):
    """A :class:`SinkBinding` of a sink whose batches are screened first."""

    def screener(self) -> AbstractAsyncContextManager[tuple[Deliver, Screen]]:
        """A new replica of the sink: its one-by-one delivery, and its batch screen."""


class AppliedScreenContract(SinkContract):
    """The sink contract, and what a batch screen promises: it answers only what the sink's
    own delivery would answer ``unchanged``, with the same outcome, and writes nothing."""

    async def test_a_batch_screen_answers_the_applied_as_the_sink_would_and_leaves_the_rest(
        self, binding: ScreeningBinding
    ) -> None:
        kept = binding.record("c-kept")
        changed = binding.record("c-changed")
        async with binding.screener() as (deliver, screen):
            await deliver(kept)
            await deliver(changed)
            writes = await binding.writes()
            answered = await screen(
                [
                    kept,  # applied: answered
                    binding.record("c-changed", version=2, variant=1),  # newer: the sink's
                    kept,  # a redelivery: answered
                    changed,  # older now, but after one the sink must apply: kept in order
                    binding.record("c-new"),  # never seen: the sink's
                ]
            )
            assert await binding.writes() == writes, "a screen wrote"
            await deliver(kept)  # the sink's own answer, to compare with the screen's

        assert set(answered) == {0, 2}
        assert statuses(binding, "c-kept") == ["applied", "unchanged", "unchanged", "unchanged"]
        assert statuses(binding, "c-changed") == ["applied"]
        assert statuses(binding, "c-new") == []
        key = kept.entity_key
        *screened, own = [o for o in binding.published.outcomes if o.entity_key == key][1:]
        for outcome in screened:
            assert (outcome.operation, outcome.detail, outcome.target_ids) == (
                own.operation,
                own.detail,
                own.target_ids,
            )
            assert outcome.causation_id == kept.event_id
