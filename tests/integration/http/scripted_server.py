"""A tiny HTTP server that answers from a script and remembers what reached it.

Each test works on its own path: it scripts the answers that path gives (a 429 with a
Retry-After, a 503, a slow answer...) and afterwards reads, from the server's side,
when each request arrived and how many were in flight at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``retry_after`` may be computed when the answer is sent."""

    status: int = 200
    retry_after: str | Callable[[], str] | None = None
    hold_seconds: float = 0.0


@dataclass
class PathRecord:
    """What one path saw: arrival times (time.monotonic) and the most requests in flight."""

    arrivals: list[float] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


class ScriptedServer:
    """The Starlette app plus its script and its records (one event loop, no locks needed)."""

    def __init__(self) -> None:
        self.base_url = ""
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._then: dict[str, Reply] = {}
        self.records: dict[str, PathRecord] = defaultdict(PathRecord)
        self.app = Starlette(routes=[Route("/{path:path}", self._answer, methods=ALL_METHODS)])

    def new_path(self, *replies: Reply, then: Reply | None = None) -> str:
        """A fresh path that gives ``replies`` in order, then ``then`` (200 by default) forever."""
        path = f"/{uuid.uuid4().hex}"
        self._scripts[path].extend(replies)
        self._then[path] = then or Reply()
        return path

    async def _answer(self, request: Request) -> Response:
        path = request.url.path
        record = self.records[path]
        record.arrivals.append(time.monotonic())
        record.methods.append(request.method)
        record.in_flight += 1
        record.max_in_flight = max(record.max_in_flight, record.in_flight)
        script = self._scripts[path]
        reply = script.popleft() if script else self._then.get(path, Reply())
        try:
            await request.body()
            if reply.hold_seconds:
                # The simulated vendor takes this long to answer; it is the server's
                # behaviour under test, not a wait standing in for synchronisation.
                await asyncio.sleep(reply.hold_seconds)  # poll: a scripted slow reply
            headers: dict[str, str] = {}
            if reply.retry_after is not None:
                value = reply.retry_after
                headers["Retry-After"] = value if isinstance(value, str) else value()
            return Response(status_code=reply.status, content=b"{}", headers=headers)
        finally:
            record.in_flight -= 1
