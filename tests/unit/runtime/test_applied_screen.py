"""The batch screen over a real SQLite store: what the upsert applied, or settled with no
record, is answered ``unchanged``; the rest is left to the sink, in each record's order."""

from __future__ import annotations

from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from services.runtime.applied_screen import screen_applied
from services.runtime.outcomes import Outcomes
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from tests.unit.runtime.test_upsert import NoRecordTarget, snapshot, upsert, world

__all__ = ["world"]  # the fixture, shared with the upsert's tests


class Sink:
    """The screen's view of a sink whose records are ``NoRecordTarget``'s."""

    reference_kinds = ("record",)

    def __init__(self, link: LinkRecord) -> None:
        self.link = link

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        return [self.link] if source_connection_id == self.link.source_connection_id else []

    def accepts(self, event: EmployeeChanged, link: LinkRecord) -> bool:
        return True

    def fingerprint(self, event: EmployeeChanged, link: LinkRecord) -> str:
        return event.last_name


class Published:
    def __init__(self) -> None:
        self.outcomes: list[SyncOutcome] = []

    async def __call__(self, event: SyncOutcome, *, cause: Event) -> None:
        self.outcomes.append(event)


async def test_the_applied_and_the_settled_without_record_are_answered_the_rest_left(
    world: tuple[StateStore, LinkRecord],
) -> None:
    store, link = world
    system: dict[str, str] = {}
    kit = upsert(store)
    hired = snapshot(link, minute=1)
    gone = snapshot(link, minute=1, employee_id="8", status="terminated")
    for event in (hired, gone):
        await kit.apply(link, event, NoRecordTarget(system, event))
    changed = snapshot(link, minute=2, name="Lopez-Diaz")
    published = Published()

    answered = await screen_applied(
        [
            hired,
            changed,
            hired,
            gone,
            snapshot(link, minute=1, employee_id="9"),
        ],
        Sink(link),
        store=store,
        outcomes=Outcomes(published, service="test"),
    )

    # hired: applied; changed: newer, the sink's, and the hired copy after it waits its turn;
    # gone: settled with no record; employee 9: never seen.
    assert answered == {0, 3}
    assert [(o.entity_key, o.status) for o in published.outcomes] == [
        (hired.entity_key, "unchanged"),
        (gone.entity_key, "unchanged"),
    ]
    assert "already applied" in published.outcomes[1].detail
