"""``mlc review``: what the services handed to a person, and re-driving it once fixed.

A sink that cannot write a record without a person (a bill line with no BILL GL account)
leaves it in the store's review queue with a note saying what is missing and the event it
could not write. The bookkeeper reads the queue (``mlc review list``), fixes the cause (the
link's ``account_map``, an account created in the target), and re-drives the item: its
event goes back on its topic (same event, same key) and the sink writes it, once (sinks are
idempotent; another link of the same source answers ``unchanged``). A re-driven item is
closed; if the sink still cannot write it, it opens a new one with the new note.
``mlc review dismiss`` closes an item that needs nothing. Every re-drive and dismissal is
audited.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from aiokafka.errors import KafkaError

from mlc.exits import EXIT_FAILED, EXIT_REFUSED, fail, kafka_unavailable
from mlc.output import JsonOption, echo_json, print_table
from mlc.settings import runtime_settings
from schemas import EventDecodeError, decode_event
from schemas.topics import dlq_topic
from services.runtime.bus import create_broker
from services.runtime.publishing import publish
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore, StoreError
from services.runtime.store.records import ReviewItem

__all__ = ["review_app"]

review_app = typer.Typer(help="Items the services handed to a person: list, re-drive, dismiss.")
_ACTOR = "mlc review"


async def _store(settings: RuntimeSettings) -> StateStore:
    try:
        return await StateStore.from_settings(settings)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None


def _row(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "service": item.service,
        "link_id": item.link_id,
        "reason": item.reason,
        "entity_key": item.payload.get("entity_key"),
        "note": item.payload.get("note"),
        "created_at": item.created_at.isoformat(),
        "resolution": item.resolution,
    }


@review_app.command("list")
def list_command(
    everything: Annotated[
        bool, typer.Option("--all", help="Closed items too, not only the open ones.")
    ] = False,
    link: Annotated[str | None, typer.Option("--link", help="Only this link's items.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The review queue, oldest first: what waits, and why."""

    async def read() -> list[ReviewItem]:
        store = await _store(runtime_settings())
        try:
            async with store.transaction() as tx:
                return await tx.review_queue.list(
                    status=None if everything else "open", link_id=link, limit=1000
                )
        finally:
            await store.close()

    rows = [_row(item) for item in asyncio.run(read())]
    if as_json:
        echo_json({"items": rows})
        return
    if not rows:
        typer.echo("the review queue is empty" if everything else "nothing waits for review")
        return
    print_table(
        ["id", "status", "service", "record", "note"],
        [[str(r["id"]), r["status"], r["service"], str(r["entity_key"]), str(r["note"])]
         for r in rows],
    )  # fmt: skip


async def _open_item(store: StateStore, item_id: int) -> ReviewItem:
    async with store.transaction() as tx:
        item = await tx.review_queue.get(item_id)
    if item is None:
        raise fail(f"no review item {item_id}; see mlc review list", EXIT_REFUSED)
    if item.status != "open":
        raise fail(f"review item {item_id} is {item.status} already", EXIT_REFUSED)
    return item


@review_app.command("redrive")
def redrive_command(
    item_id: Annotated[int, typer.Argument(help="The item's id (mlc review list).")],
) -> None:
    """Put the item's event back on its topic once its cause is fixed; close the item."""
    settings = runtime_settings()
    echoed = asyncio.run(_redrive(settings, item_id))
    typer.echo(echoed)


async def _redrive(settings: RuntimeSettings, item_id: int) -> str:
    store = await _store(settings)
    try:
        item = await _open_item(store, item_id)
        try:
            event = decode_event(item.payload.get("event") or {})
        except EventDecodeError as exc:
            msg = f"review item {item_id} holds no event to re-drive ({exc}); dismiss it instead"
            raise fail(msg, EXIT_REFUSED) from None
        # mlc only produces: the dead-letter topic is never used, but must be a real one.
        broker = create_broker(settings, dead_letter_topic=dlq_topic("ingest"))
        try:
            await broker.connect()
            sent = await publish(broker, event)
        except (KafkaError, OSError) as exc:
            raise kafka_unavailable(settings.kafka_bootstrap_servers, exc) from None
        finally:
            await broker.stop()
        async with store.transaction() as tx:
            await tx.review_queue.resolve(item_id, resolution=f"re-driven as {sent.event_id}")
            await tx.audit_log.append(
                actor=_ACTOR,
                action="review.redriven",
                subject=f"{sent.connection_id}:{sent.entity_key}",
                detail={"item": item_id, "event_id": str(sent.event_id), "topic": sent.topic_name},
            )
    finally:
        await store.close()
    return (
        f"re-drove review item {item_id}: {sent.type} {sent.entity_key} back on "
        f"{sent.topic_name} as event {sent.event_id}"
    )


@review_app.command("dismiss")
def dismiss_command(
    item_id: Annotated[int, typer.Argument(help="The item's id (mlc review list).")],
    note: Annotated[str, typer.Option("--note", help="Why nothing is to be done.")] = "",
) -> None:
    """Close an item that needs nothing (the record was fixed by hand, say)."""

    async def dismiss() -> None:
        store = await _store(runtime_settings())
        try:
            await _open_item(store, item_id)
            async with store.transaction() as tx:
                await tx.review_queue.resolve(item_id, status="dismissed", resolution=note or None)
                await tx.audit_log.append(
                    actor=_ACTOR, action="review.dismissed", subject=str(item_id),
                    detail={"note": note},
                )  # fmt: skip
        finally:
            await store.close()

    asyncio.run(dismiss())
    typer.echo(f"dismissed review item {item_id}")
