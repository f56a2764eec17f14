"""The record page: a record's chains (``mlc audit``) drawn as a timeline, found by
``<vendor>:<id>`` or an email address."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.control.console.kit import Console
from services.control.console.sessions import SignedIn
from services.control.console.views import find_record

__all__ = ["add_routes"]


def add_routes(router: APIRouter, console: Console) -> None:
    """Add this page's routes to the console's router."""

    async def record(request: Request, session: SignedIn) -> Response:
        query = request.query_params.get("q", "").strip()
        found = (
            await find_record(console.parts.store, console.parts.bootstrap_servers, query)
            if query
            else None
        )
        return console.render(request, "record.html", session, query=query, found=found)

    router.add_api_route("/record", console.page(record), methods=["GET"])
