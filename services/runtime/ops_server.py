"""The ops port every service opens: ``/metrics``, ``/livez`` and ``/readyz``.

It runs on a thread of its own, not on the event loop, for one reason: a loop wedged by
a blocking call must still be *reported* as wedged (``/livez`` 503), not leave the probe
hanging. Everything it serves is read from state the loop keeps current
(:class:`~services.runtime.health.Health`, the metrics registry), so the thread never
touches the loop. It is apart from the public ports: the edge's webhooks and the operator
API stay on theirs, and a NetworkPolicy opens this one to the monitoring namespace only.

``MLC_OPS_PORT`` 0 (the default outside containers) takes any free port, named in the log
line ``ops.listening``; the deployments pin it (9400).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, Final

from prometheus_client import CONTENT_TYPE_LATEST

from services.runtime.health import Health
from services.runtime.logging import get_logger
from services.runtime.metrics import exposition

__all__ = ["OpsPortError", "OpsServer", "ops_server_running"]

_log = get_logger(__name__)
_TEXT: Final = "text/plain; charset=utf-8"


class OpsPortError(RuntimeError):
    """The ops port cannot be opened (taken, or not ours to bind)."""


class _OpsHandler(BaseHTTPRequestHandler):
    health: ClassVar[Health]
    server_version = "mlc-ops"
    sys_version = ""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, exposition(), CONTENT_TYPE_LATEST)
        elif path in ("/livez", "/readyz"):
            ok, why = self.health.live() if path == "/livez" else self.health.ready()
            self._answer(200 if ok else 503, f"{'ok' if ok else 'not ok'}: {why}\n".encode())
        else:
            self._answer(404, b"not found: the ops port serves /metrics, /livez and /readyz\n")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        self._answer(405, b"method not allowed: the ops port answers GET only\n")

    def do_PUT(self) -> None:
        self.do_POST()

    def do_DELETE(self) -> None:
        self.do_POST()

    def _answer(self, status: int, body: bytes, content_type: str = _TEXT) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Probes come every few seconds: not worth a log line each."""


class OpsServer:
    """The ops port on ``host:port`` (0: any free port), serving from a daemon thread."""

    def __init__(self, health: Health, *, host: str, port: int) -> None:
        handler = type("OpsHandler", (_OpsHandler,), {"health": health})
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as error:
            msg = (
                f"the ops port {host}:{port} cannot be opened ({error.strerror}); "
                "set MLC_OPS_PORT to a free port, or 0 for any"
            )
            raise OpsPortError(msg) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mlc-ops", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve_forever that never ran
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


@contextmanager
def ops_server_running(
    health: Health, *, host: str, port: int, service: str
) -> Iterator[OpsServer]:
    """Serve the ops port for the duration of the block."""
    server = OpsServer(health, host=host, port=port)
    server.start()
    _log.info("ops.listening", service=service, host=host, port=server.port)
    try:
        yield server
    finally:
        server.stop()
