"""The dead letters: each with its cause; replay one (once, as ``mlc replay``; again only
when asked)."""

from __future__ import annotations

from aiokafka.errors import KafkaError
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.control.console.kit import ACTOR, Console, back
from services.control.console.sessions import SignedIn
from services.control.console.views import dead_letter_views
from services.runtime.log_index import LogPlace
from services.runtime.replay import (
    AlreadyReplayedError,
    FoundDeadLetter,
    dead_letter_at,
    replay_once,
)

__all__ = ["add_routes"]


def add_routes(router: APIRouter, console: Console) -> None:
    """Add this page's routes to the console's router."""

    async def dead_letters(request: Request, session: SignedIn) -> Response:
        return console.render(
            request,
            "dead_letters.html",
            session,
            letters=await dead_letter_views(console.parts.store),
            can_replay=console.parts.broker is not None,
        )

    async def replay_letter(request: Request, session: SignedIn, form: dict[str, str]) -> Response:
        event_id = request.path_params["event_id"]
        if console.parts.broker is None:
            return back("/console/dead-letters", error="replay is not available here")
        found = await _in_the_log(console, event_id)
        if isinstance(found, str):
            return back("/console/dead-letters", error=found)
        try:
            replayed = await replay_once(
                console.parts.store,
                console.parts.broker,
                found,
                again=form.get("again") == "1",
                actor=ACTOR,
            )
        except (KafkaError, OSError) as exc:
            return back(
                "/console/dead-letters",
                error=f"Kafka did not take it ({type(exc).__name__}); it stays replayable",
            )
        except AlreadyReplayedError as exc:
            return back(
                "/console/dead-letters", error=f"{exc}: tick 'again' to replay it once more"
            )
        return back(
            "/console/dead-letters",
            notice=f"dead letter {event_id} replayed to {replayed.topic} "
            f"as event {replayed.event_id or '(republished as it was)'}",
        )

    router.add_api_route("/dead-letters", console.page(dead_letters), methods=["GET"])
    router.add_api_route(
        "/dead-letters/{event_id}/replay", console.action(replay_letter), methods=["POST"]
    )


async def _in_the_log(console: Console, event_id: str) -> FoundDeadLetter | str:
    """The dead letter, read where the read model says it is; or why it cannot be."""
    async with console.parts.store.transaction() as tx:
        row = await tx.read_model.dead_letter(event_id)
    if row is None:
        return f"no dead letter {event_id}"
    try:
        found = await dead_letter_at(
            console.parts.bootstrap_servers, LogPlace(row.topic, row.partition, row.offset)
        )
    except (KafkaError, OSError) as exc:
        return f"Kafka cannot be read ({type(exc).__name__}): try again"
    return found if found is not None else f"dead letter {event_id} is no longer in the log"
