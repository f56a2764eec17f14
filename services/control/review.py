"""The review queue as a person works it: read, re-drive, resolve; ``mlc review`` and the API.

Both call these functions, so an item reads the same (:func:`review_item_out`, the JSON of
``mlc review list|show --json`` and of ``/api/v1/review``) and a re-drive does the same
whoever asks: the item is marked ``redriven`` by its actor (a person for ``mlc``,
``operator-api`` for the API), then its event goes back on its topic with its key, so the
flow writes the record with the current link options and mappings; a flow that still
cannot write it reopens the item with the new reason (``ReviewQueue.raise_item``). An
event Kafka did not take reopens the item (``redrive_failed`` in its history). Every
re-drive, resolution and dismissal is audited.

Listing filters: ``open`` (waiting for a person), ``resolved`` (every closed item: re-driven,
resolved or dismissed) and ``all``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, get_args

from faststream.kafka import KafkaBroker

from schemas import EventDecodeError, decode_event
from schemas.envelope import Event
from schemas.upcasting import UpcastingError
from services.control.connections import ConnectionNotFoundError
from services.control.operator_contract import ReviewItemOut, ReviewReasonOut
from services.runtime.publishing import publish
from services.runtime.store import StateStore
from services.runtime.store.records import ReviewItem, ReviewStatus
from services.runtime.store.review_queue import CLOSED_STATUSES

__all__ = [
    "API_ACTOR",
    "LIST_LIMIT",
    "EventPublisher",
    "NothingToRedriveError",
    "RedriveNotSentError",
    "Redriven",
    "ReviewFilter",
    "ReviewItemClosedError",
    "ReviewItemNotFoundError",
    "kafka_event_publisher",
    "list_review_items",
    "redrive_review_item",
    "resolve_review_item",
    "review_item_out",
    "show_review_item",
]

API_ACTOR: Final = "operator-api"
"""Who re-drove or resolved an item through the operator API (its token names nobody)."""
LIST_LIMIT: Final = 10_000
ReviewFilter = Literal["open", "resolved", "all"]
_FILTERS: Final[dict[str, tuple[ReviewStatus, ...] | None]] = {
    "open": ("open",),
    "resolved": CLOSED_STATUSES,
    "all": None,
}


class ReviewItemNotFoundError(LookupError):
    """No review item with that id."""


class ReviewItemClosedError(Exception):
    """The item is closed already: nothing to re-drive or resolve."""


class NothingToRedriveError(Exception):
    """The item holds no event its flow could take again."""


class RedriveNotSentError(Exception):
    """Kafka did not take the item's event; the item is open again."""


class EventPublisher(Protocol):
    """Puts an event on its class's topic and returns it, as sent, once Kafka took it."""

    async def __call__(self, event: Event) -> Event: ...


def kafka_event_publisher(broker: KafkaBroker) -> EventPublisher:
    """Events through the runtime's :func:`publish` (envelope, key, acks=all)."""

    async def publish_event(event: Event) -> Event:
        return await publish(broker, event)

    return publish_event


@dataclass(frozen=True, slots=True)
class Redriven:
    """An item marked re-driven, and its event as it went back on its topic."""

    item: ReviewItem
    event: Event
    topic: str


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _reasons(item: ReviewItem) -> list[ReviewReasonOut]:
    note = _text(item.payload.get("note")) or item.reason
    given = item.payload.get("reasons")
    reasons = [r for r in given if isinstance(r, Mapping)] if isinstance(given, list) else []
    if not reasons:
        return [ReviewReasonOut(missing=None, value=None, fix=None, note=note)]
    return [
        ReviewReasonOut(
            missing=_text(r.get("missing")),
            value=_text(r.get("value")),
            fix=_text(r.get("fix")),
            note=_text(r.get("note"))
            or f"no {r.get('missing') or 'mapping'} for {str(r.get('value'))!r}",
            mapping_kind=_text(r.get("mapping_kind")),
            mapping_source=_text(r.get("mapping_source")),
        )
        for r in reasons
    ]


def review_item_out(item: ReviewItem) -> ReviewItemOut:
    """The item as the CLI's ``--json`` prints it and the API answers it."""
    event = item.payload.get("event")
    record = item.entity_key or _text(item.payload.get("entity_key"))
    return ReviewItemOut(
        id=item.id,
        link=item.link_id,
        record=record,
        status=item.status,
        reasons=_reasons(item),
        service=item.service,
        reason=item.reason,
        note=_text(item.payload.get("note")),
        event_type=_text(event.get("type")) if isinstance(event, Mapping) else None,
        created_at=item.created_at,
        resolved_at=item.resolved_at,
        resolution=item.resolution,
        history=item.history,
        link_id=item.link_id,
        entity_key=record,
    )


def _statuses(status: str) -> tuple[ReviewStatus, ...] | None:
    if status not in _FILTERS:
        msg = f"status must be one of {', '.join(get_args(ReviewFilter))}, not {status!r}"
        raise ValueError(msg)
    return _FILTERS[status]


async def list_review_items(
    store: StateStore, *, link_id: str | None = None, status: str = "open"
) -> list[ReviewItem]:
    """The queue, oldest first; ``status`` is a :data:`ReviewFilter`. An unknown link is
    ``ConnectionNotFoundError`` (a typo lists nothing, which would read as all clear)."""
    statuses = _statuses(status)
    async with store.transaction() as tx:
        if link_id is not None and await tx.links.get(link_id) is None:
            msg = f"no link {link_id!r}; see mlc links list"
            raise ConnectionNotFoundError(msg)
        return await tx.review_queue.list(status=statuses, link_id=link_id, limit=LIST_LIMIT)


async def show_review_item(store: StateStore, item_id: int) -> ReviewItem:
    async with store.transaction() as tx:
        item = await tx.review_queue.get(item_id)
    if item is None:
        msg = f"no review item {item_id}; see mlc review list"
        raise ReviewItemNotFoundError(msg)
    return item


def _closed(item: ReviewItem, doing: str) -> ReviewItemClosedError:
    how = f" ({item.resolution})" if item.resolution else ""
    return ReviewItemClosedError(
        f"review item {item.id} is {item.status} already{how}: nothing to {doing}"
    )


async def _open_item(store: StateStore, item_id: int, doing: str) -> ReviewItem:
    item = await show_review_item(store, item_id)
    if item.status != "open":
        raise _closed(item, doing)
    return item


def _event_of(item: ReviewItem) -> Event:
    try:
        event = decode_event(item.payload.get("event") or {})
    except (EventDecodeError, UpcastingError) as exc:
        msg = f"review item {item.id} holds no event to re-drive ({exc}); resolve it instead"
        raise NothingToRedriveError(msg) from None
    if not type(event).topic_name:
        msg = f"review item {item.id} holds a {event.type}, which has no topic to re-drive on"
        raise NothingToRedriveError(msg)
    return event


async def redrive_review_item(
    store: StateStore,
    publish_event: EventPublisher,
    item_id: int,
    *,
    by: str,
    via: str,
) -> Redriven:
    """Put an open item's record back through its flow; the item is re-driven by ``by``.

    Marked first, then sent: a flow failing again at once finds the item re-driven and
    reopens it with the new reason. Not sent: the item is open again and
    :class:`RedriveNotSentError` says why (its ``__cause__`` is Kafka's error).
    """
    item = await _open_item(store, item_id, "re-drive")
    event = _event_of(item)
    async with store.transaction() as tx:
        marked = await tx.review_queue.mark_redriven(item_id, by=by)
    if marked is None:  # closed by someone else meanwhile
        raise _closed(await show_review_item(store, item_id), "re-drive")
    try:
        sent = await publish_event(event)
    except Exception as exc:  # any publish failure means "not sent": reopen, say why
        why = (
            str(exc) if str(exc).startswith(type(exc).__name__) else f"{type(exc).__name__}: {exc}"
        )
        async with store.transaction() as tx:
            await tx.review_queue.redrive_failed(item_id, by=by, note=f"not sent: {why}")
        msg = f"review item {item_id} was not re-driven: Kafka did not take its event; it is open"
        raise RedriveNotSentError(msg) from exc
    topic = type(sent).topic_name
    async with store.transaction() as tx:
        after = await tx.review_queue.redrive_sent(
            item_id, event_id=str(sent.event_id), topic=topic
        )
        await tx.audit_log.append(
            actor=by,
            action="review.redriven",
            subject=f"{sent.connection_id}:{sent.entity_key}",
            detail=_detail(item, via, event_id=str(sent.event_id), topic=topic),
        )
    return Redriven(item=after, event=sent, topic=topic)


async def resolve_review_item(
    store: StateStore,
    item_id: int,
    *,
    by: str,
    via: str,
    note: str = "",
    status: Literal["resolved", "dismissed"] = "resolved",
) -> ReviewItem:
    """Close an open item by hand: ``resolved`` (fixed another way) or ``dismissed``
    (nothing to do); audited as ``review.resolved`` or ``review.dismissed``."""
    item = await _open_item(store, item_id, "resolve")
    async with store.transaction() as tx:
        closed = await tx.review_queue.resolve(
            item_id, status=status, resolution=note or None, by=by
        )
        if closed:
            await tx.audit_log.append(
                actor=by,
                action=f"review.{status}",
                subject=str(item_id),
                detail=_detail(item, via, note=note),
            )
    after = await show_review_item(store, item_id)
    if not closed:
        raise _closed(after, "resolve")
    return after


def _detail(item: ReviewItem, via: str, **more: str) -> dict[str, Any]:
    return {"item": item.id, "link": item.link_id, "record": item.entity_key, "via": via, **more}
