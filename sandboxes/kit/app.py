"""`build_app`: one ASGI app = the vendor's routes behind the kit's middleware + `/_sandbox/`.

Order for vendor requests: request log (outermost, so refusals are logged too) -> limits
(a concurrency slot is held until the answer is sent, so a fault's delay counts) -> faults
-> the vendor's routes. The control API bypasses all three.
"""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandboxes.kit.control import control_routes
from sandboxes.kit.requestlog import LoggedRequest
from sandboxes.kit.sandbox import VendorSandbox

__all__ = ["SandboxApp", "build_app"]

CONTROL_PREFIX = "/_sandbox"


class SandboxApp:
    """The ASGI app of one sandbox; `.sandbox` is the vendor object behind it."""

    def __init__(self, sandbox: VendorSandbox) -> None:
        self.sandbox = sandbox
        self._vendor: ASGIApp = sandbox.vendor_app()
        self._control: ASGIApp = Starlette(routes=control_routes(sandbox))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await self._vendor(scope, receive, send)
            return
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            await self._control(scope, receive, send)
            return
        await self._vendor_request(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.sandbox.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _vendor_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        sandbox = self.sandbox
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        request = Request(scope, receive)
        try:
            tenant = sandbox.limit_key(request)
            if tenant is not None:
                refusal = sandbox.limiter.acquire(tenant)
                if refusal is not None:
                    response = sandbox.limited_response(request, refusal)
                    await response(scope, receive, recording_send)
                    return
            try:
                fault = sandbox.faults.take(request.method, scope["path"])
                if fault is not None and fault.delay_ms:
                    # The injected latency itself: the request really is slow.
                    await asyncio.sleep(fault.delay_ms / 1000)
                if fault is not None and fault.status:
                    await sandbox.fault_response(request, fault)(scope, receive, recording_send)
                    return
                await self._vendor(scope, receive, recording_send)
            finally:
                if tenant is not None:
                    sandbox.limiter.release(tenant)
        finally:
            sandbox.requests.add(
                LoggedRequest(
                    method=request.method,
                    path=scope["path"],
                    query=unquote(scope.get("query_string", b"").decode("latin-1")),
                    status=status,
                    time=sandbox.clock.now().isoformat(),
                    host=request.headers.get("host", ""),
                )
            )


def build_app(sandbox: VendorSandbox) -> SandboxApp:
    """Wrap a vendor sandbox in the kit: control API, request log, limits, faults."""
    return SandboxApp(sandbox)
