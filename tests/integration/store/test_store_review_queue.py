"""One review item per link and record: raised, updated, re-driven, reopened, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from services.runtime.store import StateStore, create_engine, migrate
from services.runtime.store.review_queue import CLOSED_STATUSES, MissingReference
from services.runtime.store.schema import _alembic_config
from services.runtime.store.tables import JsonDocument, UtcDateTime

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MEALS: MissingReference = {
    "missing": "category",
    "value": "Meals",
    "fix": "mlc mappings set --link L --kind category 'Meals' <account>",
}
GIFTS: MissingReference = {
    "missing": "category",
    "value": "Gifts",
    "fix": "mlc mappings set --link L --kind category 'Gifts' <account>",
}


async def _link(store: StateStore) -> str:
    async with store.transaction() as tx:
        source = await tx.connections.create(vendor="expensify", tenant_id="t", display_name="E")
        target = await tx.connections.create(vendor="freshbooks", tenant_id="t", display_name="F")
        link = await tx.links.create(
            source_connection_id=source.id, target_connection_id=target.id, flow="expenses"
        )
    return link.id


async def test_raising_an_open_records_item_again_updates_it_instead_of_adding_one(
    store: StateStore,
) -> None:
    link = await _link(store)
    async with store.transaction() as tx:
        first = await tx.review_queue.raise_item(
            service="freshbooks",
            reason="unmapped_category",
            link_id=link,
            entity_key="R1",
            note="no account for category 'Meals'",
            event={"type": "ExpenseReportApproved", "v": 1},
            reasons=[MEALS],
            now=T0,
        )
        again = await tx.review_queue.raise_item(
            service="freshbooks",
            reason="unmapped_category",
            link_id=link,
            entity_key="R1",
            note="no account for 'Meals' nor 'Gifts'",
            event={"type": "ExpenseReportApproved", "v": 2},
            reasons=[MEALS, GIFTS],
            now=T0 + timedelta(minutes=1),
        )
        other = await tx.review_queue.raise_item(
            service="freshbooks", reason="r", link_id=link, entity_key="R2", note="x"
        )
        items = await tx.review_queue.list(link_id=link)

    assert again.id == first.id
    assert [i.id for i in items] == [first.id, other.id]
    assert items[0].entity_key == "R1"
    assert items[0].payload == {
        "entity_key": "R1",
        "note": "no account for 'Meals' nor 'Gifts'",
        "reasons": [dict(MEALS), dict(GIFTS)],
        "event": {"type": "ExpenseReportApproved", "v": 2},
    }
    assert (items[0].status, items[0].created_at, items[0].history) == ("open", T0, [])


async def test_a_redriven_item_that_fails_again_reopens_with_the_new_reason_and_its_history(
    store: StateStore,
) -> None:
    link = await _link(store)
    async with store.transaction() as tx:
        item = await tx.review_queue.raise_item(
            service="bill", reason="r", link_id=link, entity_key="301", note="old", reasons=[MEALS]
        )
        marked = await tx.review_queue.mark_redriven(item.id, by="alice", now=T0)
        assert marked is not None
        assert await tx.review_queue.mark_redriven(item.id, by="bob") is None  # closed already
        sent = await tx.review_queue.redrive_sent(item.id, event_id="e-1", topic="ap.bill")
        assert await tx.review_queue.list(link_id=link) == []  # re-driven: not open
        closed = await tx.review_queue.list(status=CLOSED_STATUSES, link_id=link)
        back = await tx.review_queue.raise_item(
            service="bill",
            reason="r",
            link_id=link,
            entity_key="301",
            note="new",
            reasons=[GIFTS],
            now=T0 + timedelta(minutes=5),
        )

    assert (marked.status, marked.resolved_at) == ("redriven", T0)
    assert sent.resolution == "re-driven by alice as event e-1"
    assert [i.id for i in closed] == [item.id]
    assert back.id == item.id
    assert (back.status, back.resolution, back.resolved_at) == ("open", None, None)
    assert back.payload["note"] == "new"
    assert [(h["action"], h["by"]) for h in back.history] == [
        ("redriven", "alice"),
        ("reopened", "bill"),
    ]
    assert back.history[0]["reasons"] == [dict(MEALS)]  # the attempt, as it was re-driven
    assert (back.history[0]["event_id"], back.history[0]["topic"]) == ("e-1", "ap.bill")
    assert back.history[1]["reasons"] == [dict(GIFTS)]
    assert back.history[1]["note"] == "new"


async def test_an_item_closed_by_a_person_is_not_reopened_a_new_one_is_raised(
    store: StateStore,
) -> None:
    link = await _link(store)
    async with store.transaction() as tx:
        item = await tx.review_queue.raise_item(
            service="bill", reason="r", link_id=link, entity_key="301", note="n"
        )
        assert await tx.review_queue.resolve(item.id, resolution="typed in by hand", by="carol")
        assert not await tx.review_queue.resolve(item.id, status="dismissed", by="dave")
        later = await tx.review_queue.raise_item(
            service="bill", reason="r", link_id=link, entity_key="301", note="n2"
        )
        resolved = await tx.review_queue.get(item.id)

    assert later.id != item.id
    assert resolved is not None
    assert resolved.status == "resolved"
    assert [(h["action"], h["by"], h["note"]) for h in resolved.history] == [
        ("resolved", "carol", "typed in by hand")
    ]


async def test_a_redrive_kafka_did_not_take_opens_the_item_again(store: StateStore) -> None:
    link = await _link(store)
    async with store.transaction() as tx:
        item = await tx.review_queue.raise_item(
            service="bill", reason="r", link_id=link, entity_key="301", note="n"
        )
        assert await tx.review_queue.redrive_failed(item.id, by="x", note="n") is None  # open
        await tx.review_queue.mark_redriven(item.id, by="alice")
        failed = await tx.review_queue.redrive_failed(
            item.id, by="alice", note="not sent: KafkaConnectionError"
        )

    assert failed is not None
    assert (failed.status, failed.resolution) == ("open", None)
    assert [h["action"] for h in failed.history] == ["redriven", "redrive_failed"]


async def test_items_without_a_link_are_one_per_record_too(store: StateStore) -> None:
    async with store.transaction() as tx:
        first = await tx.review_queue.raise_item(
            service="s", reason="r", link_id=None, entity_key="k", note="a"
        )
        again = await tx.review_queue.raise_item(
            service="s", reason="r", link_id=None, entity_key="k", note="b"
        )
        assert await tx.review_queue.count_open() == 1
    assert again.id == first.id


async def test_migrating_an_older_store_gives_its_items_their_record_and_a_history(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    old_items = sa.table(
        "review_queue",
        sa.column("service", sa.String()),
        sa.column("reason", sa.String()),
        sa.column("payload", JsonDocument),
        sa.column("status", sa.String()),
        sa.column("created_at", UtcDateTime),
    )
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda c: command.upgrade(_alembic_config(c), "0002"))
            await connection.execute(
                old_items.insert().values(
                    service="bill",
                    reason="r",
                    payload={"entity_key": "301", "note": "n"},
                    status="open",
                    created_at=T0,
                )
            )
        await migrate(engine)
    finally:
        await engine.dispose()
    store = await StateStore.open(database_url)
    try:
        async with store.transaction() as tx:
            [item] = await tx.review_queue.list()
            raised = await tx.review_queue.raise_item(
                service="bill", reason="r", link_id=None, entity_key="301", note="again"
            )
    finally:
        await store.close()

    assert (item.entity_key, item.history) == ("301", [])
    assert raised.id == item.id
