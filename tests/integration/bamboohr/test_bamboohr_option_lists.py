"""The other side's list changes written into BambooHR's lists, against the BambooHR sandbox.

The one place the product writes to BambooHR: what reaches the sandbox is checked in its
state and its request log, and each attempt's outcome in the list the sink published to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from tests.integration.bamboohr.bamboohr_lists_rig import ListsWorld, lists_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ListsWorld]:
    async with lists_world(tmp_path) as ready:
        yield ready


async def test_a_new_department_on_the_other_side_is_added_to_bamboohrs_department_list(
    world: ListsWorld,
) -> None:
    await world.deliver(world.department("tag-77", "Cost Centre 77"))

    added = (await world.options("department"))["Cost Centre 77"]
    assert added["archived"] == "no"
    [put] = await world.calls("PUT")
    assert put["path"].endswith("/meta/lists/4")  # the department list's fieldId
    assert put["status"] == 200
    [outcome] = world.outcomes
    assert (outcome.status, outcome.operation) == ("applied", "add_option")
    assert outcome.link_id == world.link_id
    assert outcome.connection_id == world.other_id  # what asked for it
    assert outcome.target_connection_id == world.bamboohr_id  # what was written
    assert outcome.entity_key == "department:tag-77"


async def test_a_job_title_archived_on_the_other_side_is_archived_in_bamboohr(
    world: ListsWorld,
) -> None:
    await world.deliver(world.job_title("tag-5", "Copywriter"))  # both sides have it
    assert await world.calls("PUT") == []

    await world.deliver(world.job_title("tag-5", "Copywriter", active=False))

    copywriter = (await world.options("jobTitle"))["Copywriter"]
    assert copywriter["archived"] == "yes"
    [put] = await world.calls("PUT")
    assert put["path"].endswith("/meta/lists/17")
    assert [o.status for o in world.outcomes] == ["unchanged", "applied"]
    assert world.outcomes[1].operation == "archive_option"

    await world.deliver(world.job_title("tag-5", "Copywriter"))  # restored there: here too
    assert (await world.options("jobTitle"))["Copywriter"]["archived"] == "no"
    assert len(await world.calls("PUT")) == 2


async def test_the_same_event_twice_writes_once(world: ListsWorld) -> None:
    event = world.department("tag-9", "Research", kind="division")

    await world.deliver(event)
    await world.deliver(event)

    assert len(await world.calls("PUT")) == 1
    assert list(await world.options("division")) == ["North America", "Europe", "Research"]
    assert [o.status for o in world.outcomes] == ["applied", "unchanged"]


async def test_an_option_there_already_in_another_case_with_spaces_is_not_added(
    world: ListsWorld,
) -> None:
    before = await world.options("department")

    await world.deliver(world.department("tag-1", "  client SERVICES "))

    assert await world.calls("PUT") == []
    assert await world.options("department") == before
    [outcome] = world.outcomes
    assert outcome.status == "unchanged"
    assert outcome.target_ids == {"option": str(before["Client Services"]["id"])}


async def test_lists_to_source_off_writes_nothing_and_reads_nothing(world: ListsWorld) -> None:
    await world.set_link_options(lists_to_source="off")
    before = await world.options("department")

    await world.deliver(world.department("tag-2", "Cost Centre 2"))

    assert await world.calls() == []
    assert world.outcomes == []
    assert await world.options("department") == before


async def test_bamboohrs_own_list_events_are_left_to_the_other_sides_sink(
    world: ListsWorld,
) -> None:
    await world.deliver(world.department("999", "Brand New", connection_id=world.bamboohr_id))

    assert await world.calls() == []
    assert world.outcomes == []
    assert "Brand New" not in await world.options("department")


async def test_an_option_first_seen_archived_is_not_added(world: ListsWorld) -> None:
    await world.deliver(world.department("tag-3", "Old Cost Centre", active=False))

    assert await world.calls("PUT") == []
    assert "Old Cost Centre" not in await world.options("department")
    assert world.outcomes[0].status == "unchanged"


async def test_the_last_seen_state_is_written_with_the_attempts_bookkeeping(
    world: ListsWorld,
) -> None:
    await world.deliver(world.job_title("tag-8", "Illustrator"))

    async with world.store.transaction() as repos:
        rows = await repos.mappings.list(world.link_id, kind="option_lists.last_seen")
    assert [(r.source_value, orjson.loads(r.target_value)) for r in rows] == [
        (f"{world.other_id}:job_title:illustrator", {"tag-8": True})
    ]


async def test_a_grant_without_field_write_is_for_review_and_changes_nothing(
    tmp_path: Path,
) -> None:
    scope = "openid offline_access employee report field public.user"
    async with lists_world(tmp_path, style="oauth", scope=scope) as world:
        before = await world.options("department")

        await world.deliver(world.department("tag-4", "Cost Centre 4"))

        [outcome] = world.outcomes
        assert (outcome.status, outcome.operation) == ("needs_review", "add_option")
        assert "field.write" in outcome.detail
        assert await world.options("department") == before
        [put] = await world.calls("PUT")
        assert put["status"] == 403


async def test_a_preview_writes_nothing_and_names_what_the_apply_then_does(
    world: ListsWorld,
) -> None:
    async with world.store.transaction() as repos:
        link = await repos.links.get(world.link_id)
    assert link is not None
    event = world.department("tag-78", "Cost Centre 78")
    bamboohrs_own = world.department("78", "Cost Centre 78", connection_id=world.bamboohr_id)
    assert world.sink.accepts(event, link)
    assert not world.sink.accepts(bamboohrs_own, link)

    planned = await world.sink.preview(event, link)

    assert (planned.status, planned.operation, planned.action) == (
        "applied",
        "add_option",
        "create",
    )
    assert await world.calls("PUT") == []
    async with world.store.transaction() as repos:
        assert await repos.mappings.list(world.link_id) == []
    await world.deliver(event)
    [outcome] = world.outcomes
    assert (outcome.status, outcome.operation) == (planned.status, planned.operation)
    assert (await world.sink.preview(event, link)).status == "unchanged"
