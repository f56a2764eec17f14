"""``mlc review``: what the services handed to a person, and putting it back once fixed.

A flow that cannot write a record without a person (a bill line with no BILL GL account, an
expense category with no mapping) leaves one item per link and record in the store's review
queue: the record, why it waits (each missing reference) and what would fix it. The
bookkeeper reads the queue (``list``, ``show``), fixes the cause (``mlc mappings set``,
``mlc links set-options``, an account created in the target) and re-drives the item: it
becomes ``redriven`` (by whom, when: its history) and its event goes back on its topic, so
the flow writes the record with the current mappings, once (sinks are idempotent). If the
flow still cannot, the same item opens again with the new reason. ``resolve`` closes an item
fixed another way (``dismiss``: nothing to do). Items never disappear on their own; every
re-drive and resolution is audited, with the person (``--by``, default the OS user).

The commands work on the store and Kafka directly (``MLC_DATABASE_URL``,
``MLC_KAFKA_BOOTSTRAP_SERVERS``); the operator API's ``/api/v1/review`` routes do the same
through :mod:`services.control.review`, and ``--json`` prints what they answer.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import typer

from mlc.exits import EXIT_FAILED, EXIT_REFUSED, fail, kafka_unavailable
from mlc.output import JsonOption, echo_json, print_table
from mlc.settings import runtime_settings
from schemas.envelope import Event
from schemas.topics import dlq_topic
from services.control.connections import ConnectionNotFoundError
from services.control.operator_contract import ReviewItemOut, ReviewRedriven
from services.control.review import (
    NothingToRedriveError,
    RedriveNotSentError,
    ReviewItemClosedError,
    ReviewItemNotFoundError,
    kafka_event_publisher,
    list_review_items,
    redrive_review_item,
    resolve_review_item,
    review_item_out,
    show_review_item,
)
from services.runtime.bus import create_broker
from services.runtime.store import StateStore, StoreError

__all__ = ["actor", "review_app", "run_on_store"]

review_app = typer.Typer(
    help="Items the services handed to a person: list, show, re-drive, resolve.",
    no_args_is_help=True,
)
_VIA = "mlc"
_STATUSES = ("open", "resolved", "all")
T = TypeVar("T")

ItemArgument = Annotated[int, typer.Argument(help="The item's id (mlc review list).")]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who does it, for the history and audit (default: the OS user)."),
]


def actor(given: str | None) -> str:
    """``--by``, else the OS user: who re-drove or resolved an item."""
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's numeric user)
        return "mlc"


_REFUSALS: tuple[type[Exception], ...] = (
    ConnectionNotFoundError,
    ReviewItemNotFoundError,
    ReviewItemClosedError,
    NothingToRedriveError,
)


def run_on_store(
    work: Callable[[StateStore], Awaitable[T]], *, refused: tuple[type[Exception], ...] = ()
) -> T:
    """Run ``work`` on the store of ``MLC_DATABASE_URL`` (``mlc review``, ``mlc mappings``):
    an unknown link or item, a closed item, and ``refused``, exit 2 with their message."""

    async def run() -> T:
        try:
            store = await StateStore.from_settings(runtime_settings())
        except StoreError as exc:
            raise fail(str(exc), EXIT_FAILED) from None
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (*_REFUSALS, *refused) as exc:
        raise fail(str(exc), EXIT_REFUSED) from None


def _reasons(item: ReviewItemOut) -> str:
    return "; ".join(r.note for r in item.reasons)


def _fixes(item: ReviewItemOut) -> str:
    return "; ".join(r.fix for r in item.reasons if r.fix) or "-"


@review_app.command("list")
def list_command(
    link: Annotated[str | None, typer.Option("--link", help="Only this link's items.")] = None,
    status: Annotated[
        str,
        typer.Option(
            "--status",
            help="open (waiting), resolved (every closed item: re-driven, resolved or "
            "dismissed) or all.",
        ),
    ] = "open",
    everything: Annotated[bool, typer.Option("--all", help="Same as --status all.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The review queue, oldest first: the link, the record, why it waits, what fixes it."""
    wanted = "all" if everything else status
    if wanted not in _STATUSES:
        raise fail(f"--status must be one of {', '.join(_STATUSES)}, not {wanted!r}", EXIT_REFUSED)
    items = run_on_store(lambda store: list_review_items(store, link_id=link, status=wanted))
    shown = [review_item_out(item) for item in items]
    if as_json:
        echo_json({"items": [item.model_dump(mode="json") for item in shown]})
        return
    if not shown:
        typer.echo("nothing waits for review" if wanted == "open" else "no review items")
        return
    print_table(
        ["id", "status", "link", "record", "waits for", "fix"],
        [
            [str(i.id), i.status, i.link or "-", i.record or "-", _reasons(i), _fixes(i)]
            for i in shown
        ],
    )


@review_app.command("show")
def show_command(item_id: ItemArgument, as_json: JsonOption = False) -> None:
    """One item: why it waits, what would fix it, and its history."""
    item = review_item_out(run_on_store(lambda store: show_review_item(store, item_id)))
    if as_json:
        echo_json(item.model_dump(mode="json"))
        return
    _print_item(item)


def _print_item(item: ReviewItemOut) -> None:
    lines = [
        f"review item {item.id}: {item.status}",
        f"link: {item.link or '-'}",
        f"record: {item.record or '-'}",
        f"service: {item.service} ({item.reason})",
        f"raised: {item.created_at.isoformat()}",
    ]
    if item.resolved_at is not None:
        lines.append(f"closed: {item.resolved_at.isoformat()} ({item.resolution or '-'})")
    lines.append("waits for:")
    for reason in item.reasons:
        lines.append(f"  - {reason.note}")
        if reason.fix:
            lines.append(f"    fix: {reason.fix}")
    lines.append(f"re-drives: {item.event_type or 'nothing (no event): resolve it instead'}")
    if item.history:
        lines.append("history:")
        lines.extend(f"  {_history_line(entry)}" for entry in item.history)
    typer.echo("\n".join(lines))


def _history_line(entry: dict[str, Any]) -> str:
    line = f"{entry.get('at')}  {entry.get('action')} by {entry.get('by')}"
    if entry.get("event_id"):
        line += f" as event {entry['event_id']}"
    if entry.get("note"):
        line += f": {entry['note']}"
    return line


@review_app.command("redrive")
def redrive_command(
    item_id: ItemArgument, by: ByOption = None, as_json: JsonOption = False
) -> None:
    """Put an open item's record back through its flow, with the current mappings."""
    settings = runtime_settings()
    who = actor(by)

    async def redrive(store: StateStore) -> ReviewRedriven:
        # mlc only produces: the dead-letter topic is never used, but must be a real one.
        broker = create_broker(settings, dead_letter_topic=dlq_topic("ingest"))
        publish_event = kafka_event_publisher(broker)

        async def connect_and_publish(event: Event) -> Event:
            await broker.connect()
            return await publish_event(event)

        try:
            done = await redrive_review_item(store, connect_and_publish, item_id, by=who, via=_VIA)
        except RedriveNotSentError as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
            typer.echo(f"mlc: {exc}", err=True)
            raise kafka_unavailable(settings.kafka_bootstrap_servers, cause) from None
        finally:
            await broker.stop()
        return ReviewRedriven(
            item=review_item_out(done.item),
            event_id=str(done.event.event_id),
            type=done.event.type,
            topic=done.topic,
            entity_key=done.event.entity_key,
        )

    sent = run_on_store(redrive)
    if as_json:
        echo_json(sent.model_dump(mode="json"))
        return
    typer.echo(
        f"re-drove review item {item_id}: {sent.type} {sent.entity_key} back on "
        f"{sent.topic} as event {sent.event_id} (by {who})"
    )


def _close(
    item_id: int, *, by: str | None, note: str, status: Literal["resolved", "dismissed"]
) -> ReviewItemOut:
    who = actor(by)
    item = run_on_store(
        lambda store: resolve_review_item(
            store, item_id, by=who, via=_VIA, note=note, status=status
        )
    )
    return review_item_out(item)


NoteOption = Annotated[str, typer.Option("--note", help="Why it is closed.")]


@review_app.command("resolve")
def resolve_command(
    item_id: ItemArgument, note: NoteOption = "", by: ByOption = None, as_json: JsonOption = False
) -> None:
    """Close an open item fixed another way (the record was entered by hand, say)."""
    item = _close(item_id, by=by, note=note, status="resolved")
    if as_json:
        echo_json(item.model_dump(mode="json"))
        return
    typer.echo(f"resolved review item {item_id}")


@review_app.command("dismiss")
def dismiss_command(
    item_id: ItemArgument, note: NoteOption = "", by: ByOption = None, as_json: JsonOption = False
) -> None:
    """Close an open item that needs nothing (status dismissed)."""
    item = _close(item_id, by=by, note=note, status="dismissed")
    if as_json:
        echo_json(item.model_dump(mode="json"))
        return
    typer.echo(f"dismissed review item {item_id}")
