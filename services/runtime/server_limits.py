"""Read deadlines and connection caps for a public HTTP server (uvicorn's h11 protocol).

uvicorn bounds the size of a request's headers but not the time it may take to send
them, and an ASGI app waiting for a body waits as long as the client likes: a client
that trickles a byte at a time holds a connection (and, behind it, a task) forever.
:func:`guarded_protocol` builds an h11 protocol that adds three limits:

- **headers**: a request's line and headers must be complete within ``header_timeout``
  of the connection opening, or of the previous response on a kept-alive connection;
- **body**: once the headers are in, the whole body must arrive within ``body_timeout``;
- **connections per client address**: at most ``connections_per_client`` open at once;
  one more is answered 503 with ``Retry-After`` and closed at once.

A request past a deadline is answered ``408 Request Timeout`` (when no response has
started) and its connection closed; the app, if it was waiting for the body, sees the
client disconnect. Each refusal is logged and handed to ``on_refused`` (the ingest
service writes it to the audit log). This module knows no vendor and no route.

Behind a reverse proxy every connection comes from the proxy's address, so the
per-client cap would count the proxy: set it to 0 (off) there and cap at the proxy.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from uvicorn.protocols.http.h11_impl import H11Protocol

from services.runtime.logging import get_logger

__all__ = ["ConnectionRefused", "RefusalHook", "ServerLimits", "guarded_protocol"]

ConnectionRefused = Literal["header_timeout", "body_timeout", "too_many_connections"]
RefusalHook = Callable[[str | None, ConnectionRefused], None]
"""Told ``(client address, reason)`` for every connection a limit ended."""

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The limits; ``connections_per_client=0`` turns the per-address cap off."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    connections_per_client: int = 32
    retry_after_seconds: int = 30

    def __post_init__(self) -> None:
        if self.header_timeout <= 0 or self.body_timeout <= 0:
            msg = "header and body timeouts must be positive seconds"
            raise ValueError(msg)
        if self.connections_per_client < 0:
            msg = "connections_per_client must be 0 (off) or more"
            raise ValueError(msg)


def _raw_answer(status: bytes, message: str, extra: bytes = b"") -> bytes:
    # Written straight to the socket: h11 may be mid-request, where it cannot send a response.
    body = message.encode("utf-8")
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"connection: close\r\n" + extra + b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"\r\n" + body
    )


def guarded_protocol(
    limits: ServerLimits, *, on_refused: RefusalHook | None = None
) -> type[H11Protocol]:
    """An h11 protocol class for ``uvicorn.Config(http=...)`` enforcing ``limits``.

    Each call returns a new class with its own per-address counts, so two servers in one
    process (tests, the local stack) do not share them.
    """
    open_by_client: Counter[str] = Counter()
    timeout_answer: Final = _raw_answer(b"408 Request Timeout", "request not received in time")
    busy_answer: Final = _raw_answer(
        b"503 Service Unavailable",
        "too many connections from this address",
        b"retry-after: " + str(limits.retry_after_seconds).encode() + b"\r\n",
    )

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting_for: ConnectionRefused | None = None
        _timed_cycle: Any = None
        _counted: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else None
            if address is not None:
                open_by_client[address] += 1
                self._counted = address
                cap = limits.connections_per_client
                if cap and open_by_client[address] > cap:
                    self._refuse("too_many_connections", busy_answer)
                    return
            self._arm(limits.header_timeout, "header_timeout")

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted is not None:
                open_by_client[self._counted] -= 1
                if open_by_client[self._counted] <= 0:
                    del open_by_client[self._counted]
                self._counted = None
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            cycle = self.cycle
            if cycle is None:
                return
            if cycle is not self._timed_cycle:
                # A new request's headers are complete: its body gets a deadline of its own.
                self._timed_cycle = cycle
                self._disarm()
                if cycle.more_body:
                    self._arm(limits.body_timeout, "body_timeout")
            elif self._waiting_for == "body_timeout" and not cycle.more_body:
                self._disarm()

        def on_response_complete(self) -> None:
            # Armed first: a pipelined request started inside super() disarms it again.
            if not self.transport.is_closing():
                self._arm(limits.header_timeout, "header_timeout")
            super().on_response_complete()

        def _arm(self, seconds: float, reason: ConnectionRefused) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired, reason)
            self._waiting_for = reason

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            self._waiting_for = None

        def _expired(self, reason: ConnectionRefused) -> None:
            self._deadline = None
            self._waiting_for = None
            cycle = self.cycle
            if cycle is not None and cycle is self._timed_cycle and reason == "body_timeout":
                if cycle.response_started:
                    self._refuse(reason, b"")
                    return
                # The app sees a disconnect; what it sends after that is dropped.
                cycle.disconnected = True
                cycle.message_event.set()
            self._refuse(reason, timeout_answer)

        def _refuse(self, reason: ConnectionRefused, answer: bytes) -> None:
            address = self.client[0] if self.client else None
            _log.warning("http_connection_refused", reason=reason, client=address)
            if not self.transport.is_closing():
                if answer:
                    self.transport.write(answer)
                self.transport.close()
            if on_refused is not None:
                on_refused(address, reason)

    return GuardedH11Protocol
