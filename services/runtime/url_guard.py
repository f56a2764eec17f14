"""Refuse a request whose URL holds a control character, before any route reads it.

No URL of ours has one, and some cannot even be looked up: PostgreSQL refuses a string
with a NUL in it (SQLSTATE 22021), so an id such as ``abc%00`` would surface as a store
error (a 5xx, or a 503 that sends the vendor back to retry garbage) instead of the 400 it
is. One check at the door, for every route of every public server, and audited like the
server's other refusals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["CONTROL_CHARACTER_REASON", "ControlCharacterGuard", "has_control_character"]

CONTROL_CHARACTER_REASON: Final = "control_character_in_url"
# C0 controls and DEL, as bytes once percent-decoded.
_CONTROLS: Final = frozenset([*range(0x20), 0x7F])

Refused = Callable[[str | None], Awaitable[object]]


def has_control_character(path: str, query: bytes) -> bool:
    """Whether the decoded path or the percent-decoded query holds a control character."""
    decoded = path.encode("utf-8", "surrogateescape") + unquote_to_bytes(query)
    return not _CONTROLS.isdisjoint(decoded)


class ControlCharacterGuard:
    """ASGI middleware: 400 ``bad_url`` for a URL with a control character; ``refused``
    (the client's address) is awaited first, to write the audit entry."""

    def __init__(self, app: ASGIApp, *, refused: Refused) -> None:
        self.app = app
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and has_control_character(
            str(scope.get("path", "")), bytes(scope.get("query_string", b""))
        ):
            client = scope.get("client")
            await self.refused(str(client[0]) if client else None)
            answer = JSONResponse(
                {"error": "bad_url", "detail": "the URL holds a control character"},
                status_code=400,
            )
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)
