"""R4: hostile requests at every door of the running stack, and what came back.

Doors: the webhook edge (``/webhooks/{vendor}/{connection}``, any path and method), the
operator API (``/api/v1/...``, without, with a wrong and with the real token), the OAuth
consent and callback (``/oauth/...``), the console (``/console/...``, forged cookies and
form tokens), and the HTTP parser itself (raw bytes on a socket). The requests come from
a seeded generator, so a run can be repeated exactly.

Every answer is judged: a 5xx is a failure, whatever its cause; a 4xx must say what was
wrong (a JSON body with ``error`` or ``detail``, a page with a title, or a line of text);
the connection being closed without an answer counts apart (the HTTP parser's choice for
bytes that are not HTTP). Requests with the real operator token never delete or change
what exists (random ids only), so the stack is still whole at the end.
"""

from __future__ import annotations

import asyncio
import json
import random
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote, urlsplit

import httpx

__all__ = ["Doors", "HostileReport", "HostileRequest", "hostile_requests", "send_hostile"]

_SHOWN: Final = 20  # failures described in the report; the rest are counted
_SIGNATURE_HEADERS: Final = (
    "X-BambooHR-Signature",
    "X-BambooHR-Timestamp",
    "X-FreshBooks-Hmac-SHA256",
    "X-Zoho-Webhook-Signature",
    "X-Bill-Sha-Signature",
    "X-Acumatica-Signature",
    "Authorization",
)
_API_PATHS: Final = (
    "/api/v1/connections",
    "/api/v1/connections/{id}",
    "/api/v1/connections/{id}/ping",
    "/api/v1/connections/{id}/reconnect",
    "/api/v1/connections/{id}/webhooks",
    "/api/v1/links",
    "/api/v1/links/{id}",
    "/api/v1/links/{id}/sync",
    "/api/v1/links/{id}/replays",
    "/api/v1/links/{id}/live",
    "/api/v1/replays/{id}",
    "/api/v1/replays/{id}/plan",
    "/api/v1/status",
    "/api/v1/audit",
    "/api/v1/review",
    "/api/v1/review/{id}",
    "/api/v1/review/{id}/resolve",
    "/api/v1/links/{id}/mappings",
)
_CONSOLE_PATHS: Final = (
    "/console",
    "/console/sign-in",
    "/console/sign-out",
    "/console/links",
    "/console/links/{id}/sync",
    "/console/connections",
    "/console/connections/{id}/remove",
    "/console/connections/{id}/ping",
    "/console/connections/{id}/reconnect",
    "/console/record",
    "/console/review",
    "/console/review/{id}/fix",
    "/console/dead-letters",
    "/console/dead-letters/{id}/replay",
    "/console/static/../../etc/passwd",
)
_METHODS: Final = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
_CONTENT_TYPES: Final = (
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/json; charset=utf-16",
    "\u00e9/\u00e9",
    "",
)


@dataclass(frozen=True)
class Doors:
    """Where the stack answers, and what a genuine caller would know."""

    base_url: str
    vendors: Sequence[str]
    connection_ids: Sequence[str]
    operator_token: str


@dataclass(frozen=True)
class HostileRequest:
    door: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class HostileReport:
    sent: int = 0
    by_door: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    closed_without_answer: int = 0
    closed_reasons: Counter[str] = field(default_factory=Counter)
    unsendable: int = 0
    server_errors: int = 0
    unclear_refusals: int = 0
    examples: list[str] = field(default_factory=list)

    def failed(self, what: str) -> None:
        if len(self.examples) < _SHOWN:
            self.examples.append(what)


def _junk(rng: random.Random, size: int) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.~%/\\'\"<>;:{}[]()\u00e9\u2603\u0000"
    return "".join(rng.choice(alphabet) for _ in range(size))


def _segment(rng: random.Random) -> str:
    return quote(_junk(rng, rng.choice((1, 8, 40, 300))), safe="")


def _body(rng: random.Random) -> bytes:  # noqa: PLR0911 - one return per kind of body
    kind = rng.randrange(8)
    if kind == 0:
        return b""
    if kind == 1:
        return rng.randbytes(rng.choice((1, 64, 4096)))
    if kind == 2:
        return b"[" * 5000 + b"]" * 5000  # deep nesting
    if kind == 3:
        return b'{"a":' * 2000 + b"1" + b"}" * 2000
    if kind == 4:
        return b"\xff\xfe\x00bad utf-8"
    if kind == 5:
        return json.dumps({_junk(rng, 5): _junk(rng, 20) for _ in range(5)}).encode()
    if kind == 6:
        values: list[object] = [None, -1, 10**30, 1.5, "x" * 10_000, [], {}, True]
        return json.dumps(
            {
                k: rng.choice(values)
                for k in ("name", "vendor", "flow", "since", "source", "target", "value", "id")
            }
        ).encode()
    return ("a=" + _junk(rng, 200) + "&form_token=" + _junk(rng, 40)).encode("utf-8", "replace")


def _headers(rng: random.Random) -> dict[str, str]:
    headers = {"Content-Type": rng.choice(_CONTENT_TYPES)}
    for name in rng.sample(_SIGNATURE_HEADERS, rng.randrange(3)):
        headers[name] = _junk(rng, rng.choice((4, 64, 2000))).encode("ascii", "ignore").decode()
    if rng.random() < 0.3:
        headers["Cookie"] = f"mlc_console={_junk(rng, 43)}".encode("ascii", "ignore").decode()
    return {k: v for k, v in headers.items() if v.isprintable() and "\x00" not in v}


def _webhook(rng: random.Random, doors: Doors) -> HostileRequest:
    vendor = rng.choice(doors.vendors) if rng.random() < 0.8 else _segment(rng)
    connection = rng.choice(doors.connection_ids) if rng.random() < 0.6 else _segment(rng)
    query = "" if rng.random() < 0.7 else f"?{_segment(rng)}={_segment(rng)}"
    return HostileRequest(
        "edge", "POST", f"/webhooks/{vendor}/{connection}{query}", _headers(rng), _body(rng)
    )


def _anywhere(rng: random.Random, _: Doors) -> HostileRequest:
    path = "/" + "/".join(_segment(rng) for _ in range(rng.randrange(1, 5)))
    if rng.random() < 0.2:
        path = rng.choice(("//webhooks//x", "/webhooks/../api/v1/links", "/%2e%2e/%2e%2e/etc"))
    return HostileRequest("edge", rng.choice(_METHODS), path, _headers(rng), _body(rng))


def _api(rng: random.Random, doors: Doors) -> HostileRequest:
    path = rng.choice(_API_PATHS).replace("{id}", _segment(rng))
    headers = _headers(rng)
    auth = rng.randrange(4)
    if auth == 1:
        headers["Authorization"] = f"Bearer {_junk(rng, 43)}".encode("ascii", "ignore").decode()
    elif auth == 2:  # the real token: only random ids in the path, never a real one
        headers["Authorization"] = f"Bearer {doors.operator_token}"
    elif auth == 3:
        headers["Authorization"] = rng.choice(("Basic Og==", "Bearer", "Bearer  ", "bearer x y"))
    if rng.random() < 0.3:
        path += f"?limit={rng.choice(('-1', '0', '10000000', 'x'))}&since={_segment(rng)}"
    return HostileRequest("operator API", rng.choice(_METHODS), path, headers, _body(rng))


def _oauth(rng: random.Random, doors: Doors) -> HostileRequest:
    vendor = rng.choice(doors.vendors) if rng.random() < 0.8 else _segment(rng)
    which = rng.choice(("callback", "start"))
    params = [
        f"{rng.choice(('code', 'state', 'error', 'subdomain', 'x'))}={_segment(rng)}"
        for _ in range(rng.randrange(4))
    ]
    return HostileRequest(
        "oauth",
        rng.choice(("GET", "GET", "POST")),
        f"/oauth/{vendor}/{which}?{'&'.join(params)}",
        _headers(rng),
    )


def _console(rng: random.Random, _: Doors) -> HostileRequest:
    path = rng.choice(_CONSOLE_PATHS).replace("{id}", _segment(rng))
    method = rng.choice(("GET", "POST", "POST", "PUT"))
    headers = _headers(rng)
    if method == "POST" and rng.random() < 0.5:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if rng.random() < 0.3:
        headers["HX-Request"] = "true"
    return HostileRequest("console", method, path, headers, _body(rng))


_DOORS: Final[Sequence[tuple[float, Callable[[random.Random, Doors], HostileRequest]]]] = (
    (0.35, _webhook),
    (0.10, _anywhere),
    (0.25, _api),
    (0.10, _oauth),
    (0.20, _console),
)


def hostile_requests(doors: Doors, count: int, *, seed: int) -> list[HostileRequest]:
    """``count`` requests, the same ones for the same seed."""
    rng = random.Random(seed)
    makers = [maker for _, maker in _DOORS]
    weights = [weight for weight, _ in _DOORS]
    return [rng.choices(makers, weights)[0](rng, doors) for _ in range(count)]


def _clear(response: httpx.Response) -> bool:
    """Does a refusal say what was wrong?"""
    if response.request.method == "HEAD":
        return True  # no body by definition
    text = response.text.strip()
    if not text:
        return False
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and bool(body.get("error") or body.get("detail"))
    if "html" in kind:
        return "<title>" in text
    return True


async def _garbage(base_url: str, rng: random.Random, report: HostileReport) -> None:
    """Bytes that are not HTTP, or barely, straight onto a socket."""
    parts = urlsplit(base_url)
    payload = rng.choice(
        (
            rng.randbytes(200),
            b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /webhooks/x/y HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
            b"GET / HTTP/1.1\r\n" + b"X: " + b"y" * 20_000 + b"\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"\r\n\r\n\r\n",
        )
    )
    report.sent += 1
    report.by_door["parser"] += 1
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, parts.port), timeout=10
        )
    except (OSError, TimeoutError):
        report.closed_without_answer += 1
        return
    try:
        writer.write(payload)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout=15)
    except (OSError, TimeoutError):
        line = b""
    finally:
        writer.close()
    fields = line.split()
    if len(fields) < 2 or not fields[1].isdigit():
        report.closed_without_answer += 1
        return
    status = int(fields[1])
    report.by_status[status] += 1
    if status >= 500:
        report.server_errors += 1
        report.failed(f"parser: {status} for {payload[:60]!r}")


async def send_hostile(
    doors: Doors,
    count: int,
    *,
    seed: int = 1,
    concurrency: int = 16,
    progress: Callable[[int], None] | None = None,
) -> HostileReport:
    """Send ``count`` hostile requests (2 % of them raw bytes) and judge every answer."""
    report = HostileReport()
    requests = hostile_requests(doors, count, seed=seed)
    rng = random.Random(seed + 1)
    queue: asyncio.Queue[HostileRequest] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            request = queue.get_nowait()
            if rng.random() < 0.02:
                await _garbage(doors.base_url, rng, report)
            await _send(http, request, report)
            if progress is not None and report.sent % 1000 == 0:
                progress(report.sent)

    async with httpx.AsyncClient(
        base_url=doors.base_url, timeout=30.0, limits=limits, follow_redirects=False
    ) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return report


async def _send(http: httpx.AsyncClient, request: HostileRequest, report: HostileReport) -> None:
    report.sent += 1
    report.by_door[request.door] += 1
    try:
        response = await http.request(
            request.method,
            f"{http.base_url}".rstrip("/") + request.path,  # "//x" stays a path, not a host
            # h11 sends no NUL and no edge whitespace in a header value: not hostile, unsendable.
            headers=[
                (k.encode(), v.replace("\x00", "").strip().encode())
                for k, v in request.headers.items()
            ],
            content=request.body,
        )
    except (httpx.LocalProtocolError, httpx.InvalidURL, UnicodeError):
        report.sent -= 1  # httpx would not send it: not a request the server saw
        report.by_door[request.door] -= 1
        report.unsendable += 1
        return
    except httpx.TransportError as error:
        report.closed_without_answer += 1
        report.closed_reasons[type(error).__name__] += 1
        return
    report.by_status[response.status_code] += 1
    what = f"{request.door}: {request.method} {request.path[:120]} -> {response.status_code}"
    if response.status_code >= 500:
        report.server_errors += 1
        report.failed(f"{what} {response.text[:200]!r}")
    elif response.status_code >= 400 and not _clear(response):
        report.unclear_refusals += 1
        report.failed(f"{what} (no clear error) {response.text[:120]!r}")
