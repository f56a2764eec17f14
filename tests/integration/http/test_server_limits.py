"""The public server's read deadlines and per-address connection cap, over real sockets.

A tiny app is served by uvicorn with :func:`guarded_protocol`; the tests play slow and
greedy clients with raw sockets and wait (with deadlines) for what the server does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandboxes.kit import serve, wait_until
from services.runtime.server_limits import ConnectionRefused, ServerLimits, guarded_protocol

LIMITS = ServerLimits(header_timeout=0.5, body_timeout=0.5, connections_per_client=3)
WAIT = 10.0  # far above every limit: the deadline of each wait, never reached when all is well


class Server:
    def __init__(self) -> None:
        self.port = 0
        self.refused: list[tuple[str | None, ConnectionRefused]] = []
        self.disconnects = 0

    async def echo(self, request: Request) -> JSONResponse:
        body = b""
        async for chunk in request.stream():
            body += chunk
        return JSONResponse({"received": len(body)})

    async def waiting(self, request: Request) -> JSONResponse:
        try:
            await request.body()
        except Exception:  # Starlette's ClientDisconnect: the deadline ended the body
            self.disconnects += 1
            raise
        return JSONResponse({"received": True})


@asynccontextmanager
async def running(limits: ServerLimits = LIMITS) -> AsyncIterator[Server]:
    server = Server()
    app = Starlette(
        routes=[
            Route("/echo", server.echo, methods=["POST"]),
            Route("/waiting", server.waiting, methods=["POST"]),
        ]
    )
    protocol = guarded_protocol(limits, on_refused=lambda c, r: server.refused.append((c, r)))
    async with serve(app, http=protocol) as served:
        server.port = served.port
        yield server


async def connect(server: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def answer_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (bounded by WAIT).

    A server that closes with bytes of ours still unread makes the kernel send a reset,
    not an orderly end; what it sent before is kept (``reader.read()`` would drop it).
    """
    answer = b""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                return answer
            if not chunk:
                return answer
            answer += chunk


def request(path: str, body: bytes, *, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    head = f"POST {path} HTTP/1.1\r\nhost: test\r\ncontent-length: {size}\r\n\r\n"
    return head.encode() + body


async def test_headers_that_never_finish_are_answered_408_and_the_connection_closed() -> None:
    async with running() as server:
        reader, writer = await connect(server)
        writer.write(b"POST /echo HTTP/1.1\r\nhost: test\r\n")  # no blank line: never ends
        await writer.drain()
        answer = await answer_until_closed(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"connection: close" in answer
    assert server.refused == [("127.0.0.1", "header_timeout")]


async def test_a_client_trickling_its_headers_is_cut_off_at_the_header_deadline() -> None:
    async with running() as server:
        reader, writer = await connect(server)

        async def trickle() -> None:
            # Each byte arrives well inside any per-read timeout; only a total deadline ends it.
            for byte in b"POST /echo HTTP/1.1\r\nx-slow: " + b"a" * 10_000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.02)  # poll: a deliberately slow client

        trickling = asyncio.create_task(trickle())
        answer = await answer_until_closed(reader)
        trickling.cancel()
        await asyncio.gather(trickling, return_exceptions=True)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert [reason for _, reason in server.refused] == ["header_timeout"]


async def test_a_body_that_stops_arriving_is_answered_408_and_the_app_sees_a_disconnect() -> None:
    async with running() as server:
        reader, writer = await connect(server)
        writer.write(request("/waiting", b"0123456789", length=100))  # 90 bytes never come
        await writer.drain()
        answer = await answer_until_closed(reader)
        writer.close()
        await wait_until(lambda: server.disconnects, timeout_seconds=WAIT, message="disconnect")
    assert answer.startswith(b"HTTP/1.1 408")
    assert server.disconnects == 1
    assert [reason for _, reason in server.refused] == ["body_timeout"]


async def test_an_honest_client_in_several_writes_is_served_and_kept_alive() -> None:
    async with running() as server:
        reader, writer = await connect(server)
        whole = request("/echo", b"x" * 5000)
        for start in range(0, len(whole), 1000):  # headers and body split over writes
            writer.write(whole[start : start + 1000])
            await writer.drain()
        first = await asyncio.wait_for(reader.readuntil(b'{"received":5000}'), WAIT)
        writer.write(request("/echo", b"y" * 10))  # the same connection, a second request
        await writer.drain()
        second = await asyncio.wait_for(reader.readuntil(b'{"received":10}'), WAIT)
        writer.close()
    assert first.startswith(b"HTTP/1.1 200")
    assert second.startswith(b"HTTP/1.1 200")
    assert server.refused == []


async def test_a_kept_alive_connection_gets_a_fresh_header_deadline_after_each_response() -> None:
    # Keep-alive longer than the header deadline, so only the header deadline can end it.
    async with running(ServerLimits(header_timeout=0.5, body_timeout=5)) as server:
        reader, writer = await connect(server)
        writer.write(request("/echo", b"z"))
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b'{"received":1}'), WAIT)
        writer.write(b"POST /echo HTTP/1.1\r\n")  # the next request's headers stall
        await writer.drain()
        rest = await answer_until_closed(reader)
        writer.close()
    assert rest.startswith(b"HTTP/1.1 408")


async def test_one_address_gets_at_most_its_cap_of_connections_and_a_503_past_it() -> None:
    async with running(
        ServerLimits(header_timeout=5, body_timeout=5, connections_per_client=3)
    ) as (server):
        held = [await connect(server) for _ in range(3)]
        reader, writer = await connect(server)
        refused = await answer_until_closed(reader)
        writer.close()
        # One of the three goes: a new connection is served again.
        held[0][1].close()
        await held[0][1].wait_closed()
        deadline = asyncio.get_running_loop().time() + WAIT
        while True:
            reader, writer = await connect(server)
            writer.write(request("/echo", b"ok"))
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(12), WAIT)
            writer.close()
            # The server may not have seen the close yet: retry until it has, or give up.
            if answer.startswith(b"HTTP/1.1 200") or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.02)  # poll
        for _, other in held[1:]:
            other.close()
    assert refused.startswith(b"HTTP/1.1 503")
    assert b"retry-after: 30" in refused
    assert answer.startswith(b"HTTP/1.1 200")
    assert ("127.0.0.1", "too_many_connections") in server.refused


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        ServerLimits(header_timeout=0)
    with pytest.raises(ValueError, match="0 \\(off\\)"):
        ServerLimits(connections_per_client=-1)
