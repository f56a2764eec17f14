"""``mlc replay``: a dead-lettered event back on its topic (same key), once its cause is fixed;
with ``--link``, one link re-driven from a point of the log (``mlc/link_replay.py``).

Each dead letter is replayed once, claimed in the store's ledger; ``--again`` replays it
once more. A replay that published nothing stays replayable without ``--again``.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import Annotated

import typer
from aiokafka.errors import KafkaError

from mlc.exits import EXIT_FAILED, EXIT_REFUSED, fail, kafka_unavailable
from mlc.link_replay import follow_replay, run_link_replay
from mlc.operator_client import OperatorClient, UrlOption
from mlc.output import JsonOption
from mlc.settings import runtime_settings
from services.runtime.replay import (
    AlreadyReplayedError,
    FoundDeadLetter,
    dead_letter_topics,
    find_dead_letter,
    replay_once,
    replay_session,
)
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StoreError
from services.vendors import TOPICS

__all__ = ["replay_command"]


def replay_command(
    event_id: Annotated[
        str | None,
        typer.Argument(help="The dead-lettered event's id, or the dead letter's own id."),
    ] = None,
    *,
    again: Annotated[
        bool, typer.Option("--again", help="Replay a dead letter that was replayed before.")
    ] = False,
    link: Annotated[
        str | None,
        typer.Option(
            "--link",
            help="Re-drive this link's events from --since through its sinks (only this link).",
        ),
    ] = None,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="From: beginning, a time (2026-12-05T09:00Z), a time ago (2h, 3d), offset:N.",
        ),
    ] = "beginning",
    until: Annotated[
        str | None, typer.Option("--until", help="To (same forms); default: now.")
    ] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Only this record: <vendor>:<id>.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write nothing: list what each write would be.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the replay to its end.")
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to follow it before giving up.")
    ] = 3600.0,
    show: Annotated[
        str | None, typer.Option("--show", help="Show (and follow) a link replay by its id.")
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put a dead-lettered event back on its topic once its cause is fixed; or, with --link,
    re-drive one link from a point of the log (already written records come out unchanged),
    --dry-run to list what it would write."""
    if show is not None:
        client = OperatorClient(url)
        follow_replay(
            client,
            client.call("GET", f"/replays/{show}"),
            wait=wait,
            timeout_seconds=timeout,
            as_json=as_json,
        )
        return
    if link is not None:
        if event_id is not None:
            raise fail("give a dead letter's event id or --link, not both", EXIT_REFUSED)
        body = {"since": since, "until": until, "entity": entity, "dry_run": dry_run}
        run_link_replay(
            OperatorClient(url),
            link,
            {**body, "requested_by": _who()},
            wait=wait,
            timeout_seconds=timeout,
            as_json=as_json,
        )
        return
    if event_id is None:
        raise fail("give a dead letter's event id, or --link <link id>", EXIT_REFUSED)
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
        async with replay_session(settings) as (store, broker):
            replayed = await replay_once(store, broker, found, again=again, actor="mlc replay")
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    except AlreadyReplayedError as exc:
        raise fail(f"{exc}: pass --again to replay it once more", EXIT_REFUSED) from None
    except (KafkaError, OSError) as exc:
        # Nothing was put back: the dead letter stays replayable without --again.
        raise kafka_unavailable(settings.kafka_bootstrap_servers, exc) from None
    typer.echo(
        f"replayed dead letter {letter.event_id} ({found.topic}@{found.offset}, "
        f"{letter.error_type}) to {replayed.topic} key={replayed.key} as event "
        f"{replayed.event_id or '(not a JSON event: republished as it was)'}"
    )


def _who() -> str:
    """Who asks, for the audit log: the operating-system user running mlc."""
    try:
        return f"mlc ({getpass.getuser()})"
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "mlc"
