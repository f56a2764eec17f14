"""The console's routes: server-rendered pages at ``/console`` (Jinja2 templates, htmx).

Each page is a module of its own (``*_page.py``, ``sign_in.py``) over the shared
:mod:`kit`; what a page does is what ``mlc`` and the operator API do, through the same
functions. The assets (htmx, the stylesheet) are served from ``static/``: no CDN.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from services.control.console import (
    connections_page,
    dead_letters_page,
    links_page,
    record_page,
    review_page,
    sign_in,
)
from services.control.console.kit import HERE, Console, ConsoleParts

__all__ = ["ConsoleParts", "console_routes"]


def console_routes(parts: ConsoleParts) -> list[BaseRoute]:
    """``/console`` and everything under it, static assets included."""
    console = Console(parts)
    router = APIRouter(prefix="/console", include_in_schema=False)
    for page in (
        sign_in,
        links_page,
        connections_page,
        record_page,
        review_page,
        dead_letters_page,
    ):
        page.add_routes(router, console)
    static = Mount("/console/static", app=StaticFiles(directory=HERE / "static"), name="static")
    return [*router.routes, static]
