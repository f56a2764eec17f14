"""An ASGI endpoint that answers 200 to any request and does nothing else: the edge
benchmark's yardstick (:mod:`benchmarks.edge_throughput`), served by uvicorn like the edge."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

_BODY = b'{"status":"accepted"}'


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    # Read the whole body, as the edge must before it can verify it.
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body"))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": _BODY})
