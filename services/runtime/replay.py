"""Put a dead-lettered message back on its topic once its cause is fixed.

A :class:`~schemas.outcomes.DeadLetter` keeps the original message (text, or
base64 when it was not text), its topic and its key. :func:`find_dead_letter`
finds the dead letter on the ``dlq.*`` topics by its own id or by the id of
the event it holds; :func:`replay` republishes that event to its original
topic with the same key (so it keeps its place in the record's order) and
Kafka's acknowledgement (acks=all), stamped as a new event caused by the dead
letter: a fresh ``event_id``, ``causation_id`` = the dead letter, the original
correlation. The audit chain then shows original -> dead letter -> replay ->
whatever the replay caused, and sinks, which deduplicate on business keys,
treat it as the same change.

A message that was not a JSON event (it may be why it failed) is put back
byte for byte: there is no envelope to stamp.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import orjson
from faststream.kafka import KafkaBroker

from schemas.envelope import utcnow
from schemas.outcomes import DeadLetter
from schemas.topics import Topic, dlq_topic
from services.runtime.audit_trail import read_events, read_places
from services.runtime.bus import create_broker
from services.runtime.log_index import LogPlace
from services.runtime.producer_renewal import publish_renewing
from services.runtime.publishing import CONTENT_TYPE
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore

__all__ = [
    "REPLAY_LEDGER",
    "AlreadyReplayedError",
    "FoundDeadLetter",
    "Replayed",
    "dead_letter_at",
    "dead_letter_topics",
    "find_dead_letter",
    "original_event_id",
    "replay",
    "replay_once",
    "replay_session",
    "replayed_dead_letters",
]

REPLAY_HEADER = "replay-of"
# The ledger service under which replays are claimed: each dead letter is replayed once.
REPLAY_LEDGER = "mlc-replay"
_NOT_PUBLISHED = "not_published"
_REPLAYED = "replayed"


class AlreadyReplayedError(Exception):
    """The dead letter was replayed before; replaying it again must be asked for."""


@dataclass(frozen=True, slots=True)
class FoundDeadLetter:
    """A dead letter and where it is in the log."""

    topic: str
    partition: int
    offset: int
    letter: DeadLetter


@dataclass(frozen=True, slots=True)
class Replayed:
    """What :func:`replay` put back: where, under which key, and the new event id (if JSON)."""

    topic: str
    key: str | None
    event_id: str | None


def dead_letter_topics(catalog: Iterable[Topic]) -> list[str]:
    """Every topic of ``catalog`` that holds dead letters."""
    return [t.name for t in catalog if "DeadLetter" in t.events]


async def find_dead_letter(
    bootstrap_servers: str, event_id: str, *, topics: list[str]
) -> FoundDeadLetter | None:
    """The newest dead letter whose own id, or its original event's id, is ``event_id``."""
    wanted = event_id.strip().lower()

    def names_it(event: dict[str, Any]) -> bool:
        if event.get("type") != "DeadLetter":
            return False
        if str(event.get("event_id")).lower() == wanted:
            return True
        # The dead letter's cause is the original event (runtime.dead_letters).
        return str(event.get("causation_id")).lower() == wanted or (
            original_event_id(event) == wanted
        )

    found = await read_events(
        bootstrap_servers,
        topics=topics,
        keep=lambda logged: names_it(logged.event),
    )
    if not found:
        return None
    newest = max(found, key=lambda logged: str(logged.event.get("recorded_at", "")))
    return FoundDeadLetter(
        newest.topic, newest.partition, newest.offset, DeadLetter.model_validate(newest.event)
    )


def original_event_id(event: dict[str, Any]) -> str | None:
    """The id of the event a dead letter holds (lower case), when it holds a JSON event."""
    if event.get("original_encoding") != "utf-8":
        return None
    try:
        original = orjson.loads(str(event.get("original", "")))
    except orjson.JSONDecodeError:
        return None
    return str(original.get("event_id")).lower() if isinstance(original, dict) else None


def replayed_message(letter: DeadLetter) -> tuple[bytes, str | None]:
    """The bytes to republish and the new event id (None when the original is not JSON)."""
    if letter.original_encoding == "base64":
        return base64.b64decode(letter.original), None
    try:
        original = orjson.loads(letter.original)
    except orjson.JSONDecodeError:
        return letter.original.encode("utf-8"), None
    if not isinstance(original, dict) or "event_id" not in original:
        return letter.original.encode("utf-8"), None
    new_id = str(uuid4())
    correlation = letter.correlation_id or letter.causation_id or letter.event_id
    stamped = {
        **original,
        "event_id": new_id,
        "causation_id": str(letter.event_id),
        "correlation_id": str(original.get("correlation_id") or correlation),
        "recorded_at": utcnow().isoformat(),
    }
    return orjson.dumps(stamped), new_id


async def replay(broker: KafkaBroker, found: FoundDeadLetter) -> Replayed:
    """Republish the dead letter's original to its topic with its key; wait for the ack."""
    letter = found.letter
    value, new_id = replayed_message(letter)
    headers = {REPLAY_HEADER: str(letter.event_id)}
    if new_id is not None:
        headers["content-type"] = CONTENT_TYPE
        event_type = orjson.loads(value).get("type")
        if isinstance(event_type, str):
            headers["event-type"] = event_type
    key = letter.original_key.encode("utf-8") if letter.original_key is not None else None
    await publish_renewing(
        broker,
        lambda: broker.publish(value, topic=letter.original_topic, key=key, headers=headers),
    )
    return Replayed(letter.original_topic, letter.original_key, new_id)


async def dead_letter_at(bootstrap_servers: str, place: LogPlace) -> FoundDeadLetter | None:
    """The dead letter at ``place`` (the read model's), read from the log."""
    [*found] = await read_places(bootstrap_servers, [place])
    if not found or found[0].event.get("type") != "DeadLetter":
        return None
    return FoundDeadLetter(
        place.topic, place.partition, place.offset, DeadLetter.model_validate(found[0].event)
    )


async def replayed_dead_letters(store: StateStore, event_ids: Iterable[str]) -> set[str]:
    """Which of these dead letters were replayed (and published)."""
    replayed = set()
    async with store.transaction() as tx:
        for event_id in event_ids:
            entry = await tx.ledger.get(REPLAY_LEDGER, event_id)
            if entry is not None and entry.outcome != _NOT_PUBLISHED:
                replayed.add(event_id)
    return replayed


async def replay_once(
    store: StateStore, broker: KafkaBroker, found: FoundDeadLetter, *, again: bool, actor: str
) -> Replayed:
    """Replay ``found`` unless it was replayed before (``again`` replays it once more),
    claimed in the store's ledger and audited. A replay that published nothing (the broker
    failed: the error is raised) stays replayable without ``again``."""
    letter = found.letter
    key = str(letter.event_id)
    async with store.transaction() as tx:
        claimed = await tx.ledger.claim(REPLAY_LEDGER, key)
        earlier = None if claimed else await tx.ledger.get(REPLAY_LEDGER, key)
    unpublished = earlier is not None and earlier.outcome == _NOT_PUBLISHED
    if not (claimed or unpublished or again):
        msg = (
            f"dead letter {key} was already replayed (see `mlc audit {letter.correlation_id}`); "
            "replay it again only if the first replay's effect is gone"
        )
        raise AlreadyReplayedError(msg)
    try:
        replayed = await replay(broker, found)
    except BaseException:
        async with store.transaction() as tx:
            await tx.ledger.record_outcome(REPLAY_LEDGER, key, _NOT_PUBLISHED)
        raise
    async with store.transaction() as tx:
        await tx.ledger.record_outcome(REPLAY_LEDGER, key, _REPLAYED)
        await tx.audit_log.append(
            actor=actor,
            action="dead_letter.replayed",
            subject=f"{letter.connection_id}:{letter.entity_key}",
            detail={
                "dead_letter_id": key,
                "dead_letter_topic": found.topic,
                "topic": replayed.topic,
                "event_id": replayed.event_id,
                "error_type": letter.error_type,
            },
        )
    return replayed


@asynccontextmanager
async def replay_session(
    settings: RuntimeSettings, *, run_migrations: bool = True
) -> AsyncIterator[tuple[StateStore, KafkaBroker]]:
    """The state store and a producing broker :func:`replay_once` needs, closed after.

    The store is opened first (a ``StoreError`` before any connection to Kafka). The
    broker only produces: its dead-letter topic is never used, but must be a real one.
    """
    store = await StateStore.from_settings(settings, run_migrations=run_migrations)
    broker = create_broker(settings, dead_letter_topic=dlq_topic("ingest"))
    try:
        await broker.connect()
        yield store, broker
    finally:
        await broker.stop()
        await store.close()
