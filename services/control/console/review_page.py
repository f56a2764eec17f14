"""The review queue: open items with why they wait; fix the mapping in place and re-drive,
or resolve; closed items with who did what. Updated in place every few seconds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.control.connections import (
    ConnectionInputError,
    ConnectionNotFoundError,
)
from services.control.console.kit import ACTOR, Console, back
from services.control.console.sessions import SignedIn
from services.control.mappings import MappingNotFoundError, set_mapping
from services.control.review import (
    NothingToRedriveError,
    RedriveNotSentError,
    ReviewItemClosedError,
    ReviewItemNotFoundError,
    list_review_items,
    redrive_review_item,
    resolve_review_item,
    review_item_out,
)

__all__ = ["add_routes"]


def add_routes(router: APIRouter, console: Console) -> None:
    """Add this page's routes to the console's router."""

    async def review_context() -> dict[str, Any]:
        open_items = await list_review_items(console.parts.store, status="open")
        closed = await list_review_items(console.parts.store, status="resolved")
        return {
            "open_items": [review_item_out(item) for item in open_items],
            "closed_items": [review_item_out(item) for item in reversed(closed[-50:])],
        }

    async def review(request: Request, session: SignedIn) -> Response:
        return console.render(request, "review.html", session, **await review_context())

    async def review_rows(request: Request, session: SignedIn) -> Response:
        return console.render(request, "_review_rows.html", session, **await review_context())

    async def fix_and_redrive(
        request: Request, session: SignedIn, form: dict[str, str]
    ) -> Response:
        item_id = int(request.path_params["item_id"])
        if console.parts.publish_event is None:
            return back("/console/review", error="re-drive is not available: no Kafka publisher")
        try:
            if form.get("kind"):
                item = review_item_out(
                    next(
                        i
                        for i in await list_review_items(console.parts.store, status="open")
                        if i.id == item_id
                    )
                )
                if item.link is None:
                    return back("/console/review", error=f"item {item_id} belongs to no link")
                await set_mapping(
                    console.parts.store,
                    item.link,
                    form["kind"],
                    form.get("source_value", ""),
                    form.get("target_value", ""),
                    by=ACTOR,
                    via="console",
                )
            redriven = await redrive_review_item(
                console.parts.store, console.parts.publish_event, item_id, by=ACTOR, via="console"
            )
        except StopIteration:
            return back("/console/review", error=f"review item {item_id} is not open")
        except (
            ConnectionInputError,
            ConnectionNotFoundError,
            MappingNotFoundError,
            ReviewItemNotFoundError,
            ReviewItemClosedError,
            NothingToRedriveError,
            RedriveNotSentError,
        ) as exc:
            return back("/console/review", error=str(exc))
        return back(
            "/console/review",
            notice=f"review item {item_id} re-driven as event {redriven.event.event_id}",
        )

    async def resolve(request: Request, session: SignedIn, form: dict[str, str]) -> Response:
        item_id = int(request.path_params["item_id"])
        try:
            await resolve_review_item(
                console.parts.store,
                item_id,
                by=ACTOR,
                via="console",
                note=form.get("note", ""),
            )
        except (ReviewItemNotFoundError, ReviewItemClosedError) as exc:
            return back("/console/review", error=str(exc))
        return back("/console/review", notice=f"review item {item_id} resolved")

    router.add_api_route("/review", console.page(review), methods=["GET"])
    router.add_api_route("/review/rows", console.page(review_rows), methods=["GET"])
    router.add_api_route(
        "/review/{item_id:int}/redrive", console.action(fix_and_redrive), methods=["POST"]
    )
    router.add_api_route("/review/{item_id:int}/resolve", console.action(resolve), methods=["POST"])
