"""BambooHR's list options into Zoho's reporting tags, against the sandbox (real HTTP, SQLite).

A department new in BambooHR becomes an option of the Department tag; the same event again
writes nothing; archiving it in BambooHR archives the Zoho option and keeps every other
option as it was; a job title goes to the Job Title tag; Zoho's own list events and
divisions are not this sink's; a direction turned off writes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from schemas.envelope import utcnow
from schemas.people import DepartmentChanged, JobTitleChanged
from services.runtime.option_lists import LISTS_TO_TARGET
from services.zoho.sinks.option_lists import OptionListSink
from tests.integration.zoho.zoho_sink_harness import ZohoWorld, zoho_world


def _sink(world: ZohoWorld) -> OptionListSink:
    return OptionListSink(
        store=world.store,
        access=world.access(),
        settings=world.settings,
        outcomes=world.kept_outcomes(),
        holder="replica-1",
    )


def _department(
    world: ZohoWorld, name: str, *, active: bool = True, minute: int = 1
) -> DepartmentChanged:
    at = utcnow() + timedelta(minutes=minute)
    return DepartmentChanged(
        connection_id=world.bamboohr_connection_id,
        occurred_at=at,
        source_updated_at=at,
        kind="department",
        unit_id="18",
        name=name,
        active=active,
    )


async def _tag(world: ZohoWorld, name: str) -> dict[str, Any]:
    tags = [
        t
        for t in await world.state("reporting_tags")
        if str(t.get("organization_id")) == world.organization_id and t["tag_name"] == name
    ]
    assert len(tags) == 1, tags
    return tags[0]


def _options(tag: dict[str, Any]) -> dict[str, bool]:
    return {o["tag_option_name"]: o["is_active"] for o in tag["tag_options"]}


async def test_a_new_bamboohr_department_becomes_a_department_tag_option_once(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        before = _options(await _tag(world, "Department"))
        sink = _sink(world)

        await sink.list_changed(_department(world, "Cost Centre North"))
        await sink.list_changed(_department(world, "Cost Centre North"))

        after = _options(await _tag(world, "Department"))
        assert after == {**before, "Cost Centre North": True}
        statuses = [(o.status, o.operation) for o in world.outcomes]
        assert statuses == [("applied", "add_option"), ("unchanged", "compare")]
        assert world.outcomes[0].target_ids["option"]
        assert all("/www.zohoapis.eu/books/v3/" in url for url in world.called)


async def test_an_archive_in_bamboohr_archives_the_option_and_keeps_every_other(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        sink = _sink(world)
        await sink.list_changed(_department(world, "Audit"))
        before = _options(await _tag(world, "Department"))

        await sink.list_changed(_department(world, "Audit", active=False, minute=2))

        after = _options(await _tag(world, "Department"))
        assert after == {**before, "Audit": False}
        assert [o.operation for o in world.outcomes] == ["add_option", "archive_option"]

        await sink.list_changed(_department(world, "Audit", minute=3))
        assert _options(await _tag(world, "Department"))["Audit"] is True


async def test_a_new_job_title_goes_to_the_job_title_tag(tmp_path: Path) -> None:
    async with zoho_world(tmp_path) as world:
        title = JobTitleChanged(
            connection_id=world.bamboohr_connection_id,
            occurred_at=utcnow(),
            source_updated_at=utcnow(),
            job_title_id="301",
            name="Principal Consultant",
            active=True,
        )
        await _sink(world).list_changed(title)
        assert _options(await _tag(world, "Job Title"))["Principal Consultant"] is True


async def test_zoho_own_options_divisions_and_a_direction_turned_off_write_nothing(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        sink = _sink(world)
        own = _department(world, "Zoho Side").model_copy(
            update={"connection_id": world.zoho_connection_id}
        )
        division = _department(world, "EMEA").model_copy(update={"kind": "division"})
        await sink.list_changed(own)
        await sink.list_changed(division)
        async with world.store.transaction() as repos:
            await repos.links.update(world.link_id, options={LISTS_TO_TARGET: "off"})
        await sink.list_changed(_department(world, "Not Carried"))

        assert world.outcomes == []
        assert await world.writes() == []


async def test_a_preview_names_the_option_the_apply_then_adds_and_writes_nothing(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        sink = _sink(world)
        async with world.store.transaction() as repos:
            link = await repos.links.get(world.link_id)
        assert link is not None
        event = _department(world, "Cost Centre East")
        before = _options(await _tag(world, "Department"))
        writes = len(await world.writes())

        planned = await sink.preview(event, link)

        assert (planned.status, planned.operation, planned.action) == (
            "applied",
            "add_option",
            "create",
        )
        assert len(await world.writes()) == writes
        assert _options(await _tag(world, "Department")) == before
        assert sink.accepts(event, link)
        done = await sink.apply(event, link)
        assert (done.status, done.operation) == (planned.status, planned.operation)
        assert (await sink.preview(event, link)).status == "unchanged"
        archived = _department(world, "Cost Centre East", active=False, minute=2)
        assert (await sink.preview(archived, link)).action == "deactivate"
