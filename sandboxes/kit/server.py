"""Run sandbox apps as real HTTP servers (uvicorn on 127.0.0.1).

`serve(app)` is an async context manager for tests and tools: it binds (port 0 = an
ephemeral port), starts uvicorn in the running loop, waits until the socket accepts, and
stops cleanly on exit. `run_servers` is the blocking form used by `python -m sandboxes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Generator, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

__all__ = ["KEEP_ALIVE_SECONDS", "RunningServer", "ServerStartError", "run_servers", "serve"]

KEEP_ALIVE_SECONDS = 120
"""How long a sandbox keeps an idle connection open. uvicorn's default, 5 s, is also
httpx's: a client reusing a connection idle for just under 5 s sent its request into a
socket the sandbox was closing, and read a reset (``ReadError``) instead of an answer,
once in a while under load. Kept open far longer, the client always closes first."""


class ServerStartError(RuntimeError):
    """uvicorn did not start accepting connections in time."""


@dataclass(frozen=True)
class RunningServer:
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone (tests, tools).

    It also stops as soon as it is asked: uvicorn polls `should_exit` every 0.1 s and
    sleeps another 0.1 s before closing connections. A test suite starts a server for
    hundreds of tests, so those pauses were most of its time.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit_requested = asyncio.Event()

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit_requested.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn's loop, woken by `request_exit` instead of only by its 0.1 s tick
        # (the tick still refreshes the Date header once a second).
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_requested.wait(), timeout=0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.server_state.connections or self.server_state.tasks:
            # Open connections or running tasks: uvicorn's graceful path, pauses and all.
            await super().shutdown(sockets)
            return
        for server in self.servers:
            server.close()
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


def _bind(host: str, port: int) -> socket.socket:
    # The protocol number must be TCP, not 0: asyncio turns Nagle off only for
    # sockets that say they are TCP, and accepted sockets inherit it. With 0,
    # every answer waits ~40 ms for a delayed ACK (measured in make bench).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@contextlib.asynccontextmanager
async def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    start_timeout_seconds: float = 10.0,
    http: type[asyncio.Protocol] | None = None,
) -> AsyncIterator[RunningServer]:
    """Serve `app` on a real socket for the duration of the `async with` block.

    `http` is uvicorn's HTTP protocol class (the ingest's guarded one, say); default h11.
    """
    sock = _bind(host, port)
    actual_port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level=log_level,
        lifespan="on",
        access_log=False,
        http=http or "h11",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = asyncio.get_running_loop().time() + start_timeout_seconds
        while not server.started:
            if task.done():
                task.result()
                raise ServerStartError(f"uvicorn exited before serving on port {actual_port}")
            if asyncio.get_running_loop().time() > deadline:
                raise ServerStartError(f"uvicorn did not start on port {actual_port} in time")
            await asyncio.sleep(0.01)  # poll
        yield RunningServer(host=host, port=actual_port)
    finally:
        server.request_exit()
        await task
        sock.close()


async def _serve_all(apps: Sequence[tuple[str, ASGIApp, int]], host: str) -> None:
    servers = []
    for name, app, port in apps:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="info",
            lifespan="on",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        servers.append(uvicorn.Server(config))
        print(f"sandbox {name}: http://{host}:{port}", flush=True)
    await asyncio.gather(*(server.serve() for server in servers))


def run_servers(apps: Sequence[tuple[str, ASGIApp, int]], *, host: str = "127.0.0.1") -> None:
    """Serve each `(name, app, port)` in this process until interrupted (Ctrl-C, SIGTERM)."""
    asyncio.run(_serve_all(apps, host))
