"""Helpers to drive any sandbox in process (ASGI transport) or over a real socket.

Test modules import these by name (`from sandbox_harness import ...`); the fixtures that
wrap them live in `conftest.py` next to this file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.kit import VendorSandbox, build_app, serve

Connector = Callable[[VendorSandbox], AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def run_in_process(sandbox: VendorSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client wired straight into the sandbox app (no socket)."""
    transport = httpx.ASGITransport(app=build_app(sandbox))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
            yield client
    finally:
        await sandbox.aclose()


@asynccontextmanager
async def run_over_socket(sandbox: VendorSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox served by uvicorn on an ephemeral port, and a client pointed at it."""
    async with (
        serve(build_app(sandbox)) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        yield client


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A real local HTTP server that records what it is sent and answers `answers` in turn."""

    url: str = ""
    received: list[ReceivedWebhook] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        self.received.append(
            ReceivedWebhook(
                path=request.url.path, headers=dict(request.headers), body=await request.body()
            )
        )
        return Response(status_code=self.answers.pop(0) if self.answers else 200)


@asynccontextmanager
async def running_webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """A `WebhookReceiver` served by uvicorn on an ephemeral port; `.url` is set inside."""
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.receive, methods=["POST"])])
    async with serve(app) as server:
        receiver.url = f"{server.base_url}/hooks"
        yield receiver
