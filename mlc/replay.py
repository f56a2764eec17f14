"""``mlc replay``: a dead-lettered event back on its topic (same key), once its cause is fixed.

Each dead letter is replayed once, claimed in the store's ledger; ``--again`` replays it
once more. A replay that published nothing stays replayable without ``--again``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from aiokafka.errors import KafkaError

from mlc.exits import EXIT_FAILED, EXIT_REFUSED, fail, kafka_unavailable
from mlc.settings import runtime_settings
from schemas.topics import dlq_topic
from services.runtime.bus import create_broker
from services.runtime.replay import FoundDeadLetter, dead_letter_topics, find_dead_letter, replay
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore, StoreError
from services.vendors import TOPICS

__all__ = ["replay_command"]

# The ledger service under which replays are claimed: each dead letter is replayed once.
_REPLAY_LEDGER = "mlc-replay"
_NOT_PUBLISHED = "not_published"


def replay_command(
    event_id: Annotated[
        str, typer.Argument(help="The dead-lettered event's id, or the dead letter's own id.")
    ],
    again: Annotated[
        bool, typer.Option("--again", help="Replay a dead letter that was replayed before.")
    ] = False,
) -> None:
    """Put a dead-lettered event back on its topic (same key) once its cause is fixed."""
    settings = runtime_settings()
    try:
        found = asyncio.run(
            find_dead_letter(
                settings.kafka_bootstrap_servers, event_id, topics=dead_letter_topics(TOPICS)
            )
        )
    except (KafkaError, OSError) as exc:
        raise kafka_unavailable(settings.kafka_bootstrap_servers, exc) from None
    if found is None:
        raise fail(
            f"no dead letter for event id {event_id} on {', '.join(dead_letter_topics(TOPICS))}",
            EXIT_REFUSED,
        )
    asyncio.run(_replay(settings, found, again=again))


async def _replay(settings: RuntimeSettings, found: FoundDeadLetter, *, again: bool) -> None:
    letter = found.letter
    try:
        store = await StateStore.from_settings(settings)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    try:
        key = str(letter.event_id)
        async with store.transaction() as tx:
            claimed = await tx.ledger.claim(_REPLAY_LEDGER, key)
            earlier = None if claimed else await tx.ledger.get(_REPLAY_LEDGER, key)
        unpublished = earlier is not None and earlier.outcome == _NOT_PUBLISHED
        if not (claimed or unpublished or again):
            raise fail(
                f"dead letter {key} was already replayed (see `mlc audit "
                f"{letter.correlation_id}`); pass --again to replay it once more",
                EXIT_REFUSED,
            )
        # mlc only produces: the dead-letter topic is never used, but must be a real one.
        broker = create_broker(settings, dead_letter_topic=dlq_topic("ingest"))
        try:
            await broker.connect()
            replayed = await replay(broker, found)
        except (KafkaError, OSError) as exc:
            # Nothing was put back: the dead letter stays replayable without --again.
            async with store.transaction() as tx:
                await tx.ledger.record_outcome(_REPLAY_LEDGER, key, _NOT_PUBLISHED)
            raise kafka_unavailable(settings.kafka_bootstrap_servers, exc) from None
        finally:
            await broker.stop()
        async with store.transaction() as tx:
            await tx.ledger.record_outcome(_REPLAY_LEDGER, key, "replayed")
        async with store.transaction() as tx:
            await tx.audit_log.append(
                actor="mlc replay",
                action="dead_letter.replayed",
                subject=f"{letter.connection_id}:{letter.entity_key}",
                detail={
                    "dead_letter_id": str(letter.event_id),
                    "dead_letter_topic": found.topic,
                    "topic": replayed.topic,
                    "event_id": replayed.event_id,
                    "error_type": letter.error_type,
                },
            )
    finally:
        await store.close()
    typer.echo(
        f"replayed dead letter {letter.event_id} ({found.topic}@{found.offset}, "
        f"{letter.error_type}) to {replayed.topic} key={replayed.key} as event "
        f"{replayed.event_id or '(not a JSON event: republished as it was)'}"
    )
