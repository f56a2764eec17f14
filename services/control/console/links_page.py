"""The links page: each link's last outcome, lag, 24-hour chart, dead letters and review
items, updated in place every few seconds; sync now and full resync."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.control.connections import (
    ConnectionConflictError,
    ConnectionNotFoundError,
)
from services.control.console.kit import Console, back
from services.control.console.sessions import SignedIn
from services.control.console.views import link_rows
from services.control.sync_now import request_sync

__all__ = ["add_routes"]


def add_routes(router: APIRouter, console: Console) -> None:
    """Add this page's routes to the console's router."""

    async def links_context() -> dict[str, Any]:
        statuses = await console.parts.operations.status()
        return {
            "rows": await link_rows(console.parts.store, statuses, now=console.parts.clock()),
            "now": console.parts.clock(),
        }

    async def links(request: Request, session: SignedIn) -> Response:
        return console.render(request, "links.html", session, **await links_context())

    async def links_rows(request: Request, session: SignedIn) -> Response:
        return console.render(request, "_link_rows.html", session, **await links_context())

    async def sync_link(request: Request, session: SignedIn, form: dict[str, str]) -> Response:
        link_id = request.path_params["link_id"]
        full = form.get("full") == "1"
        if console.parts.publish_tick is None:
            return back("/console/links", error="sync is not available: no Kafka publisher")
        async with console.parts.store.transaction() as tx:
            link = await tx.links.get(link_id)
        if link is None:
            return back("/console/links", error=f"no link {link_id}")
        try:
            await request_sync(
                console.parts.store,
                console.parts.publish_tick,
                link.source_connection_id,
                full=full,
            )
        except (ConnectionNotFoundError, ConnectionConflictError) as exc:
            return back("/console/links", error=str(exc))
        what = "full resync" if full else "sync"
        return back("/console/links", notice=f"{what} of link {link_id} requested")

    router.add_api_route("/links", console.page(links), methods=["GET"])
    router.add_api_route("/links/rows", console.page(links_rows), methods=["GET"])
    router.add_api_route("/links/{link_id}/sync", console.action(sync_link), methods=["POST"])
