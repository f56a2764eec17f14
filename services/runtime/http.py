"""The one way a vendor client gets its ``httpx.AsyncClient``, and a pager for its lists.

:func:`build_client` stacks the house policy around a transport, outermost first::

    AsyncClient (auth, timeouts, logging hooks)
      -> RetryTransport      (services.runtime.retry: backoff, Retry-After)
        -> RateLimitTransport (services.runtime.ratelimit: window + concurrency per connection)
          -> SharedWindowTransport (services.runtime.shared_budget: the window, every replica)
            -> MeteredTransport (counts every attempt by vendor, method, status, connection)
              -> transport      (the network, or httpx.ASGITransport around a sandbox in tests)

Every retry passes through the limiter again, so retries spend the same budget as
first tries, and a client waiting out a backoff holds no concurrency slot.

Logs name the method, the URL with its user info dropped and the values of sensitive
query parameters masked (``services.runtime.logging.is_sensitive_key`` decides), the
status and the time taken; never a header.
"""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, TypeVar
from urllib.parse import urlencode

import httpx

from services.runtime.logging import get_logger, is_sensitive_key
from services.runtime.metrics import (
    CALL_LABELS_EXTENSION,
    VENDOR_CALL_SECONDS,
    VENDOR_CALLS,
    VENDOR_THROTTLED,
)
from services.runtime.ratelimit import (
    PROCESS_BUDGETS,
    BudgetRegistry,
    RateLimitTransport,
    RatePolicy,
)
from services.runtime.retry import ATTEMPTS_EXTENSION, RetryPolicy, RetryTransport
from services.runtime.shared_budget import WINDOW_PREFIX, SharedWindow, SharedWindowTransport

if TYPE_CHECKING:
    from services.runtime.store import StateStore

__all__ = [
    "DEFAULT_TIMEOUT",
    "MeteredTransport",
    "Page",
    "PaginationLoopError",
    "budgeted",
    "build_client",
    "loggable_url",
    "network_transport",
    "paginate",
]

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
"""Connect within 5 s; 30 s for each read, write and pool wait."""

_STARTED_EXTENSION: Final = "mlc.started"
# A bare word, not logging.REDACTED: the log pipeline's own redaction rewrites a
# sensitive "key=value" pair to "key=[REDACTED]", and would mangle brackets already there.
_MASK: Final = "redacted"
_log = get_logger(__name__)

T = TypeVar("T")
C = TypeVar("C", bound=Hashable)


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    """The process's one TLS client context (certifi's roots, or ``SSL_CERT_FILE``/``_DIR``).

    Building it loads every root certificate: 20-140 ms of CPU here, which a transport
    built per delivery paid each time (most of a webhook's handling in the BambooHR
    source). A context is safe to share between transports, loops and threads.
    """
    return httpx.create_ssl_context()


def network_transport() -> httpx.AsyncHTTPTransport:
    """A transport to the network for one client: no connect retries of its own (the
    RetryTransport above it decides every retry), the process's one TLS context."""
    return httpx.AsyncHTTPTransport(retries=0, verify=_shared_ssl_context())


def loggable_url(url: httpx.URL) -> str:
    """``url`` without user info and with the values of sensitive query parameters masked."""
    clean = str(url.copy_with(username=None, password=None, query=None))
    pairs = [
        (name, _MASK if is_sensitive_key(name) else value)
        for name, value in url.params.multi_items()
    ]
    return f"{clean}?{urlencode(pairs)}" if pairs else clean


class MeteredTransport(httpx.AsyncBaseTransport):
    """Counts each attempt that reaches the network (a retried call counts each try, a
    429 among them) in ``mlc_vendor_calls_total``; a call that got no answer is 'error'."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, vendor: str, connection: str) -> None:
        self._inner = inner
        self._vendor = vendor
        self._connection = connection

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        status = "error"
        try:
            response = await self._inner.handle_async_request(request)
            status = str(response.status_code)
            return response
        finally:
            VENDOR_CALLS.labels(self._vendor, request.method, status, self._connection).inc()
            VENDOR_CALL_SECONDS.labels(self._vendor).observe(time.perf_counter() - started)
            if status == "429":
                VENDOR_THROTTLED.labels(self._vendor, self._connection).inc()

    async def aclose(self) -> None:
        await self._inner.aclose()


def build_client(
    *,
    base_url: str,
    vendor: str,
    connection_key: str,
    retry: RetryPolicy | None = None,
    rate: RatePolicy | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    auth: httpx.Auth | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
    budgets: BudgetRegistry = PROCESS_BUDGETS,
    shared_in: StateStore | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for one connection: retries, limits, timeouts and request logs in place.

    ``connection_key`` names the budget (clients built with the same key share it; a
    different ``rate`` for a known key raises ConflictingRatePolicyError) and appears in
    logs and, with ``vendor``, in the call metrics. ``transport`` defaults to the network;
    pass ``httpx.ASGITransport(app)`` to talk to an in-process sandbox. ``rate=None`` means
    no proactive limit. With ``shared_in``, the window of ``rate`` is also counted in that
    store, across every replica (:func:`budgeted`).
    """
    stack: httpx.AsyncBaseTransport = MeteredTransport(
        transport or network_transport(),
        vendor=vendor,
        connection=connection_key,
    )
    if rate is not None:
        stack = budgeted(
            stack, connection_key, rate, registry=budgets, vendor=vendor, shared_in=shared_in
        )
    stack = RetryTransport(stack, retry)

    async def stamp_start(request: httpx.Request) -> None:
        request.extensions[_STARTED_EXTENSION] = time.perf_counter()
        request.extensions[CALL_LABELS_EXTENSION] = (vendor, connection_key)

    async def log_response(response: httpx.Response) -> None:
        request = response.request
        started = request.extensions.get(_STARTED_EXTENSION)
        elapsed_ms = (
            round((time.perf_counter() - started) * 1000, 1) if isinstance(started, float) else None
        )
        _log.info(
            "http.response",
            connection=connection_key,
            method=request.method,
            url=loggable_url(request.url),
            status=response.status_code,
            elapsed_ms=elapsed_ms,
            attempts=response.extensions.get(ATTEMPTS_EXTENSION, 1),
        )

    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        headers=dict(headers or {}),
        timeout=timeout,
        transport=stack,
        event_hooks={"request": [stamp_start], "response": [log_response]},
    )


def budgeted(
    inner: httpx.AsyncBaseTransport,
    connection_key: str,
    rate: RatePolicy,
    *,
    registry: BudgetRegistry = PROCESS_BUDGETS,
    vendor: str = "",
    shared_in: StateStore | None = None,
) -> httpx.AsyncBaseTransport:
    """``inner`` within ``rate`` for ``connection_key``: this process's budget and, with
    ``shared_in``, the window counted in that store by every replica (under it, so a
    request reaches the store only once its own process had room)."""
    if rate.requests is not None and shared_in is not None:
        window = SharedWindow(shared_in, f"{WINDOW_PREFIX}{connection_key}", rate)
        inner = SharedWindowTransport(inner, window)
    return RateLimitTransport(
        inner, connection_key=connection_key, policy=rate, registry=registry, vendor=vendor
    )


class PaginationLoopError(RuntimeError):
    """The server sent a page we had already seen: following it would never end."""


@dataclass(frozen=True)
class Page(Generic[T, C]):
    """One page of a list: its items, and the cursor of the next page (None on the last)."""

    items: Sequence[T]
    next_cursor: C | None


async def paginate(
    fetch_page: Callable[[C | None], Awaitable[Page[T, C]]],
    *,
    first_cursor: C | None = None,
) -> AsyncIterator[T]:
    """Yield every item of a paged list, fetching ``fetch_page(cursor)`` until the end.

    The list ends at an empty page or a page without a next cursor. A cursor that comes
    back, or a page identical to the one before (a server that ignores the page
    parameter), raises PaginationLoopError instead of looping forever.
    """
    seen: set[C] = set() if first_cursor is None else {first_cursor}
    cursor = first_cursor
    previous: Sequence[T] | None = None
    pages = 0
    while True:
        page = await fetch_page(cursor)
        pages += 1
        if not page.items:
            return
        if previous is not None and list(page.items) == list(previous):
            msg = f"page {pages} repeats page {pages - 1}: the server ignores the page parameter"
            raise PaginationLoopError(msg)
        for item in page.items:
            yield item
        if page.next_cursor is None:
            return
        if page.next_cursor in seen:
            msg = f"page {pages} points back to a cursor already fetched"
            raise PaginationLoopError(msg)
        seen.add(page.next_cursor)
        previous = page.items
        cursor = page.next_cursor
