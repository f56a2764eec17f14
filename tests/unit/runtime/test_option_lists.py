"""The runtime's list alignment: its rules as a table, and what it writes through a fake
target over a real SQLite store, our own writes coming back included (no echo)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from schemas.people import DepartmentChanged, EmployeeChanged, JobTitleChanged
from services.runtime.dead_letters import UndecodableMessageError
from services.runtime.option_lists import (
    LAST_SEEN,
    LISTS_TO_SOURCE,
    LISTS_TO_TARGET,
    ListKind,
    ListOption,
    OptionListAlignment,
    OptionListEvent,
    OptionListRefusedError,
    Side,
    Transition,
    decide,
    decode_option_list_event,
    direction_enabled,
    links_to_align,
    name_key,
    transition,
    written_connection,
)
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_MISSING = None
_ACTIVE = ListOption("t-1", "Finance", active=True)
_ARCHIVED = ListOption("t-1", "Finance", active=False)


# --- the rules, as tables ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_seen", "active", "expected"),
    [
        (None, True, "new"),
        (None, False, "new_archived"),
        (True, False, "archived"),
        (False, True, "restored"),
        (True, True, "same"),
        (False, False, "same"),
    ],
)
def test_a_names_transition_is_relative_to_what_was_last_recorded(
    last_seen: bool | None, active: bool, expected: Transition
) -> None:
    assert transition(last_seen, active) == expected


@pytest.mark.parametrize(
    ("moved", "existing", "action"),
    [
        ("new", _MISSING, "add"),
        ("new", _ACTIVE, "none"),
        ("new", _ARCHIVED, "review"),
        ("new_archived", _MISSING, "none"),
        ("new_archived", _ACTIVE, "none"),
        ("new_archived", _ARCHIVED, "none"),
        ("archived", _MISSING, "none"),
        ("archived", _ACTIVE, "archive"),
        ("archived", _ARCHIVED, "none"),
        ("restored", _MISSING, "add"),
        ("restored", _ACTIVE, "none"),
        ("restored", _ARCHIVED, "restore"),
        ("same", _MISSING, "none"),
        ("same", _ACTIVE, "none"),
        ("same", _ARCHIVED, "none"),
    ],
)
def test_what_is_written_on_the_other_side_for_each_transition(
    moved: Transition, existing: ListOption | None, action: str
) -> None:
    decision = decide(moved, existing)
    assert decision.action == action
    assert decision.detail


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        ("Finance", "finance", True),
        ("  Finance ", "FINANCE", True),
        ("Straße", "STRASSE", True),  # casefold, not lower
        ("Finance", "Finances", False),
        ("Cost Centre", "Cost  Centre", False),  # inner spaces count
    ],
)
def test_two_names_are_one_option_after_trim_and_casefold(
    left: str, right: str, same: bool
) -> None:
    assert (name_key(left) == name_key(right)) is same


@pytest.mark.parametrize(
    ("options", "on"),
    [
        ({}, True),
        ({LISTS_TO_SOURCE: "on"}, True),
        ({LISTS_TO_SOURCE: "yes"}, True),
        ({LISTS_TO_SOURCE: True}, True),
        ({LISTS_TO_SOURCE: "off"}, False),
        ({LISTS_TO_SOURCE: " OFF "}, False),
        ({LISTS_TO_SOURCE: "false"}, False),
        ({LISTS_TO_SOURCE: False}, False),
        ({LISTS_TO_SOURCE: "0"}, False),
        ({LISTS_TO_SOURCE: "no"}, False),
        ({LISTS_TO_SOURCE: "disabled"}, False),
        ({LISTS_TO_TARGET: "off"}, True),  # the other direction's switch
    ],
)
def test_each_direction_is_on_unless_its_link_option_says_off(
    options: dict[str, object], on: bool
) -> None:
    link = LinkRecord("l", "s", "t", "people-x", options, True, _AT, _AT)
    assert direction_enabled(link, LISTS_TO_SOURCE) is on


def test_the_connection_written_is_the_links_source_or_target_as_the_direction_says() -> None:
    link = LinkRecord("l", "hr", "books", "people-x", {}, True, _AT, _AT)
    assert written_connection(link, writes="source") == "hr"
    assert written_connection(link, writes="target") == "books"


def test_both_list_event_types_decode_and_anything_else_is_undecodable() -> None:
    title = JobTitleChanged(
        connection_id="c",
        occurred_at=_AT,
        source_updated_at=_AT,
        job_title_id="7",
        name="Designer",
        active=True,
    )
    assert decode_option_list_event(title.model_dump(mode="json")) == title
    assert decode_option_list_event(orjson.dumps(title.model_dump(mode="json"))) == title
    employee = EmployeeChanged(
        connection_id="c",
        occurred_at=_AT,
        source_updated_at=_AT,
        employee_id="1",
        status="active",
        first_name="A",
        last_name="B",
    )
    with pytest.raises(UndecodableMessageError, match="does not belong"):
        decode_option_list_event(employee.model_dump(mode="json"))
    with pytest.raises(UndecodableMessageError):
        decode_option_list_event(b"not json")
    with pytest.raises(UndecodableMessageError):
        decode_option_list_event(42)


# --- a fake vendor list and a real store ------------------------------------------------------


@dataclass
class FakeLists:
    """One side's lists (an :class:`OptionListTarget`): options by kind, every write asked."""

    by_kind: dict[ListKind, list[ListOption]] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    reads: int = 0
    refuse: bool = False
    missing: bool = False
    fail_after_add: bool = False
    _next: int = 100

    async def options(self, kind: ListKind) -> Sequence[ListOption]:
        self.reads += 1
        if self.missing:
            raise OptionListRefusedError(f"there is no {kind} list")
        return list(self.by_kind.get(kind, []))

    async def ensure_writable(self, kind: ListKind) -> None:
        if self.refuse:
            raise OptionListRefusedError(f"this {kind} list is not editable")

    async def add(self, kind: ListKind, name: str) -> str | None:
        await self.ensure_writable(kind)
        self._next += 1
        self.by_kind.setdefault(kind, []).append(ListOption(str(self._next), name, True))
        self.writes.append(("add", name))
        if self.fail_after_add:
            self.fail_after_add = False
            raise ConnectionError("the answer was lost after the vendor took the add")
        return str(self._next)

    def _set(self, kind: ListKind, option: ListOption, *, active: bool) -> None:
        self.by_kind[kind] = [
            ListOption(o.id, o.name, active) if o.id == option.id else o for o in self.by_kind[kind]
        ]

    async def archive(self, kind: ListKind, option: ListOption) -> None:
        self._set(kind, option, active=False)
        self.writes.append(("archive", option.name))

    async def restore(self, kind: ListKind, option: ListOption) -> None:
        self._set(kind, option, active=True)
        self.writes.append(("restore", option.name))


@dataclass
class World:
    store: StateStore
    link: LinkRecord  # hr (source) -> books (target)
    alignment: OptionListAlignment


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    async with store.transaction() as repos:
        hr = await repos.connections.create(
            vendor="hr", tenant_id="t", display_name="HR", connection_id="hr"
        )
        books = await repos.connections.create(
            vendor="books", tenant_id="t", display_name="Books", connection_id="books"
        )
        link = await repos.links.create(
            source_connection_id=hr.id, target_connection_id=books.id, flow="people-x"
        )
    try:
        yield World(
            store,
            link,
            OptionListAlignment(store=store, holder="h", lease_ttl=timedelta(seconds=5)),
        )
    finally:
        await store.close()


def department(
    connection: str, unit_id: str, name: str, *, active: bool = True, minute: int = 0
) -> DepartmentChanged:
    return DepartmentChanged(
        connection_id=connection,
        occurred_at=_AT,
        source_updated_at=_AT + timedelta(minutes=minute),
        kind="department",
        unit_id=unit_id,
        name=name,
        active=active,
    )


def title(connection: str, title_id: str, name: str, *, active: bool = True) -> JobTitleChanged:
    return JobTitleChanged(
        connection_id=connection,
        occurred_at=_AT,
        source_updated_at=_AT,
        job_title_id=title_id,
        name=name,
        active=active,
    )


async def test_a_new_name_is_added_once_however_often_its_event_comes(world: World) -> None:
    hr = FakeLists()
    event = department("books", "cc-9", "Cost Centre 9")

    first = await world.alignment.apply(world.link, event, hr)
    again = await world.alignment.apply(world.link, event, hr)

    assert (first.status, first.operation) == ("applied", "add_option")
    assert first.target_ids == {"option": "101"}
    assert again.status == "unchanged"
    assert hr.writes == [("add", "Cost Centre 9")]
    assert hr.reads == 1  # the repeat needs no look at the other side


async def test_a_name_there_already_in_another_case_or_with_spaces_is_not_added(
    world: World,
) -> None:
    hr = FakeLists(by_kind={"department": [ListOption("7", "Finance", True)]})

    result = await world.alignment.apply(world.link, department("books", "f", "  FINANCE "), hr)

    assert result.status == "unchanged"
    assert result.target_ids == {"option": "7"}
    assert hr.writes == []


async def test_archive_and_restore_travel_as_transitions_only(world: World) -> None:
    hr = FakeLists(by_kind={"job_title": [ListOption("3", "Designer", True)]})

    seen = await world.alignment.apply(world.link, title("books", "d", "Designer"), hr)
    archived = await world.alignment.apply(
        world.link, title("books", "d", "Designer", active=False), hr
    )
    archived_again = await world.alignment.apply(
        world.link, title("books", "d", "Designer", active=False), hr
    )
    restored = await world.alignment.apply(world.link, title("books", "d", "Designer"), hr)

    assert seen.status == "unchanged"
    assert (archived.status, archived.operation) == ("applied", "archive_option")
    assert archived_again.status == "unchanged"
    assert (restored.status, restored.operation) == ("applied", "restore_option")
    assert hr.writes == [("archive", "Designer"), ("restore", "Designer")]


async def test_an_option_first_seen_archived_is_not_added_nor_archives_anything(
    world: World,
) -> None:
    hr = FakeLists(by_kind={"department": [ListOption("7", "Events", True)]})

    gone = await world.alignment.apply(
        world.link, department("books", "x", "Old Stuff", active=False), hr
    )
    active_here = await world.alignment.apply(
        world.link, department("books", "e", "Events", active=False), hr
    )

    assert (gone.status, active_here.status) == ("unchanged", "unchanged")
    assert hr.writes == []
    assert hr.reads == 0


async def test_a_new_name_archived_on_the_other_side_is_for_a_person_to_decide(
    world: World,
) -> None:
    hr = FakeLists(by_kind={"department": [ListOption("7", "Events", False)]})

    result = await world.alignment.apply(world.link, department("books", "e", "Events"), hr)
    repeat = await world.alignment.apply(world.link, department("books", "e", "Events"), hr)

    assert result.status == "needs_review"
    assert "archived" in result.detail
    assert repeat.status == "unchanged"  # said once, not on every reconcile
    assert hr.writes == []


async def test_a_crash_after_the_vendor_took_an_add_does_not_add_it_twice(world: World) -> None:
    hr = FakeLists(fail_after_add=True)
    event = department("books", "cc", "Cost Centre")

    with pytest.raises(ConnectionError):
        await world.alignment.apply(world.link, event, hr)
    redelivered = await world.alignment.apply(world.link, event, hr)

    assert redelivered.status == "unchanged"
    assert hr.writes == [("add", "Cost Centre")]


async def test_a_refusal_is_for_review_and_not_recorded_so_a_later_event_tries_again(
    world: World,
) -> None:
    hr = FakeLists(refuse=True)
    event = department("books", "cc", "Cost Centre")

    refused = await world.alignment.apply(world.link, event, hr)
    hr.refuse = False
    retried = await world.alignment.apply(world.link, event, hr)

    assert (refused.status, refused.operation) == ("needs_review", "add_option")
    assert "not editable" in refused.detail
    assert retried.status == "applied"
    assert hr.writes == [("add", "Cost Centre")]


async def test_a_name_held_by_two_options_stays_active_while_one_of_them_is(
    world: World,
) -> None:
    hr = FakeLists(by_kind={"department": [ListOption("7", "Sales", True)]})

    # The other side repeats a name: one archived "Sales", one active "sales".
    for _ in range(2):  # a full reconcile resends both, every time
        await world.alignment.apply(world.link, department("books", "1", "Sales", active=False), hr)
        await world.alignment.apply(world.link, department("books", "2", "sales"), hr)

    assert hr.writes == []  # no archive/restore flapping


async def test_a_rename_is_a_new_name_and_the_old_name_no_longer_counts_the_option(
    world: World,
) -> None:
    hr = FakeLists(by_kind={"department": [ListOption("7", "Ops", True)]})

    await world.alignment.apply(world.link, department("books", "9", "Ops"), hr)

    renamed = department("books", "9", "Operations").model_copy(update={"previous_name": "Ops"})
    result = await world.alignment.apply(world.link, renamed, hr)

    assert result.operation == "add_option"
    assert [o.name for o in hr.by_kind["department"]] == ["Ops", "Operations"]  # none deleted
    async with world.store.transaction() as repos:
        rows = {m.source_value: m.target_value for m in await repos.mappings.list(world.link.id)}
    assert rows == {
        "books:department:ops": "{}",
        "books:department:operations": '{"9":true}',
    }


async def test_the_last_seen_state_is_kept_per_link_source_kind_and_name(world: World) -> None:
    hr = FakeLists()
    await world.alignment.apply(world.link, department("books", "1", "Finance"), hr)
    await world.alignment.apply(world.link, title("books", "2", "Finance"), hr)

    async with world.store.transaction() as repos:
        rows = await repos.mappings.list(world.link.id, kind=LAST_SEEN)
    assert {r.source_value for r in rows} == {
        "books:department:finance",
        "books:job_title:finance",
    }
    assert hr.writes == [("add", "Finance"), ("add", "Finance")]  # two lists, one each


# --- both directions: our own writes come back --------------------------------------------------


@dataclass
class End:
    """One end of the link: its connection, its lists, and how its source publishes them."""

    connection: str
    lists: FakeLists

    def published(self, kind: ListKind = "department") -> list[OptionListEvent]:
        """What this side's source publishes on a full read: one event per option."""
        return [
            department(self.connection, o.id, o.name, active=o.active)
            for o in self.lists.by_kind.get(kind, [])
        ]


async def _settle(world: World, hr: End, books: End) -> int:
    """Deliver each side's list to the other until a round writes nothing; the rounds taken."""
    for rounds in range(1, 10):
        before = len(hr.lists.writes) + len(books.lists.writes)
        for event in books.published():  # hr's sink: writes into the link's source
            await world.alignment.apply(world.link, event, hr.lists)
        for event in hr.published():  # books' sink: writes into the link's target
            await world.alignment.apply(world.link, event, books.lists)
        if len(hr.lists.writes) + len(books.lists.writes) == before:
            return rounds
    pytest.fail("the two sides kept writing to each other")


async def test_our_own_writes_coming_back_write_nothing_no_echo(world: World) -> None:
    hr = End("hr", FakeLists(by_kind={"department": [ListOption("h1", "Creative", True)]}))
    books = End("books", FakeLists(by_kind={"department": [ListOption("b1", "Finance", True)]}))

    rounds = await _settle(world, hr, books)  # first alignment: each name goes across once
    assert rounds == 2
    assert hr.lists.writes == [("add", "Finance")]
    assert books.lists.writes == [("add", "Creative")]

    # Finance archived on the books side: HR archives it; HR's archive comes back: nothing.
    books.lists.by_kind["department"][0] = ListOption("b1", "Finance", False)
    await _settle(world, hr, books)
    assert hr.lists.writes[-1] == ("archive", "Finance")
    assert books.lists.writes == [("add", "Creative")]

    # ... and restored on the books side: HR restores it, once.
    books.lists.by_kind["department"][0] = ListOption("b1", "Finance", True)
    await _settle(world, hr, books)
    assert hr.lists.writes == [("add", "Finance"), ("archive", "Finance"), ("restore", "Finance")]
    assert books.lists.writes == [("add", "Creative")]

    # Every later full read of both sides is quiet.
    assert await _settle(world, hr, books) == 1


# --- which links -------------------------------------------------------------------------------


async def _link(store: StateStore, source: str, target: str, **options: object) -> LinkRecord:
    async with store.transaction() as repos:
        return await repos.links.create(
            source_connection_id=source, target_connection_id=target, flow="f", options=options
        )


@pytest.mark.parametrize(
    ("writes", "expected"),
    [("source", {"on", "to-target-off"}), ("target", set())],
)
async def test_links_to_align_follow_the_side_written_and_its_switch(
    world: World, writes: Side, expected: set[str]
) -> None:
    async with world.store.transaction() as repos:
        await repos.links.delete(world.link.id)
        for name in ("hr2", "hr3", "hr4", "hr5"):
            await repos.connections.create(
                vendor="hr", tenant_id="t", display_name=name, connection_id=name
            )
    names = {
        (await _link(world.store, "hr2", "books")).id: "on",
        (await _link(world.store, "hr3", "books", lists_to_source="off")).id: "to-source-off",
        (await _link(world.store, "hr4", "books", lists_to_target="off")).id: "to-target-off",
    }
    async with world.store.transaction() as repos:
        disabled = await repos.links.create(
            source_connection_id="hr5", target_connection_id="books", flow="f", enabled=False
        )
    names[disabled.id] = "disabled"

    found = await links_to_align(world.store, "books", writes=writes)

    assert {names[link.id] for link in found} == expected


# --- a preview: the same rules, reads only ------------------------------------------------------


async def _last_seen(world: World) -> dict[str, str]:
    async with world.store.transaction() as repos:
        rows = await repos.mappings.list(world.link.id, kind=LAST_SEEN)
    return {m.source_value: m.target_value for m in rows}


async def test_a_preview_writes_nothing_and_names_the_operation_the_apply_then_makes(
    world: World,
) -> None:
    hr = FakeLists(by_kind={"job_title": [ListOption("3", "Designer", True)]})
    steps: list[tuple[OptionListEvent, str, str]] = [
        (department("books", "cc", "Cost Centre"), "add_option", "create"),
        (title("books", "d", "Designer"), "compare", ""),
        (title("books", "d", "Designer", active=False), "archive_option", "deactivate"),
        (title("books", "d", "Designer"), "restore_option", "update"),
    ]
    for event, operation, action in steps:
        seen, writes = await _last_seen(world), list(hr.writes)

        planned = await world.alignment.preview(world.link, event, hr)

        assert (planned.operation, planned.action) == (operation, action), event.name
        assert hr.writes == writes, "a preview wrote to the list"
        assert await _last_seen(world) == seen, "a preview wrote to the store"
        done = await world.alignment.apply(world.link, event, hr)
        assert (done.status, done.operation) == (planned.status, planned.operation)
        assert (await world.alignment.preview(world.link, event, hr)).status == "unchanged"


async def test_a_preview_says_the_no_the_apply_then_meets(world: World) -> None:
    event = department("books", "cc", "Cost Centre")
    for hr, operation in [
        (FakeLists(refuse=True), "add_option"),  # the list may not be edited
        (FakeLists(missing=True), "compare"),  # there is no such list to read
    ]:
        planned = await world.alignment.preview(world.link, event, hr)
        done = await world.alignment.apply(world.link, event, hr)

        assert (planned.status, planned.operation, planned.action) == (
            "needs_review",
            operation,
            "review",
        )
        assert (done.status, done.operation, done.detail) == (
            planned.status,
            planned.operation,
            planned.detail,
        )
        assert hr.writes == []
        assert await _last_seen(world) == {}  # not recorded: a later event tries again
