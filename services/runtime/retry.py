"""Retrying vendor requests: which failures earn another try, and how long to wait first.

:class:`RetryTransport` wraps another httpx transport. It tries a request again when
doing so cannot create a duplicate on the server:

- the server refused it and said when to come back: 429 or 503 with a ``Retry-After``
  header (RFC 9110 §10.2.3, RFC 6585 §4), whatever the method;
- the request never left: the connection could not be opened (``ConnectError``,
  ``ConnectTimeout``, ``PoolTimeout``), whatever the method;
- the vendor's answer says it refused the request before doing anything
  (:attr:`RetryPolicy.not_processed`, the vendor's knowledge: BILL's "too many concurrent
  requests" is a 4xx with a code in the body and no ``Retry-After``), whatever the method;
- the request is idempotent and failed on the way (timeouts, dropped connections,
  protocol errors) or got a status in :attr:`RetryPolicy.retry_statuses`.
  GET, HEAD, OPTIONS, PUT and DELETE are idempotent (RFC 9110 §9.2.2); any request is
  when it carries an ``Idempotency-Key`` header or the request extension
  ``{"idempotent": True}`` (``{"idempotent": False}`` opts a PUT or DELETE out).

Waits grow exponentially with jitter; a ``Retry-After`` is obeyed exactly. When the server
asks for longer than :attr:`RetryPolicy.max_retry_after`, the response is returned as it is,
so the caller can schedule the work for later instead of holding a consumer for minutes.

``httpx_retries.RetryTransport`` was the first choice; it does not fit three of these rules:
its loop decides on the status code alone (a POST cannot be retried only when ``Retry-After``
is present), it clamps a long ``Retry-After`` to its cap and retries early (a wasted request
that earns another 429) instead of handing the response back, and it closes the response
before it computes the wait, so there is no response left to return. The loop below is the
glue those rules need; the date parsing is the standard library's.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from services.runtime.logging import get_logger
from services.runtime.metrics import count_wait

__all__ = [
    "ATTEMPTS_EXTENSION",
    "IDEMPOTENCY_KEY_HEADER",
    "IDEMPOTENT_EXTENSION",
    "IDEMPOTENT_METHODS",
    "RetryPolicy",
    "RetryTransport",
    "backoff_delay",
    "is_idempotent",
    "parse_retry_after",
]

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENT_EXTENSION: Final = "idempotent"
IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
ATTEMPTS_EXTENSION: Final = "retry_attempts"
"""Response extension holding how many times the request was sent (1 = no retry)."""

# The statuses whose Retry-After means "not processed, come back then".
_RETRY_AFTER_STATUSES: Final = frozenset({429, 503})

# Raised before a byte of the request reached the server: safe to resend any method.
_NEVER_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# May have reached the server (or failed mid-answer): resent only when idempotent.
# UnsupportedProtocol, LocalProtocolError and ProxyError are our own mistakes; a retry
# would fail the same way.
_TRANSIENT: Final = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

_log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
UnitRandom = Callable[[], float]
UtcNow = Callable[[], datetime]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How persistently one client retries. Seconds throughout.

    ``max_attempts`` counts every send, the first included (1 switches retries off).
    The n-th retry waits ``min(max_backoff, base_backoff * 2**(n-1))``, shortened by up to
    ``jitter`` of itself at random (0 = no jitter, 1 = anywhere down to zero), so clients
    that failed together do not come back together. A ``Retry-After`` is used as given;
    one longer than ``max_retry_after`` ends the retries and the response is returned.
    ``retry_statuses`` are retried for idempotent requests only. ``not_processed`` reads
    an error answer (its body already read) and says whether the vendor refused the request
    before any effect: then it is retried with backoff whatever its method.
    """

    max_attempts: int = 4
    base_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = field(
        default_factory=lambda: frozenset({429, 500, 502, 503, 504})
    )
    not_processed: Callable[[httpx.Response], bool] | None = None

    def __post_init__(self) -> None:
        problems = [
            problem
            for problem, ok in (
                ("max_attempts must be at least 1", self.max_attempts >= 1),
                ("base_backoff must be >= 0", self.base_backoff >= 0),
                ("max_backoff must be >= base_backoff", self.max_backoff >= self.base_backoff),
                ("jitter must be within [0, 1]", 0 <= self.jitter <= 1),
                ("max_retry_after must be >= 0", self.max_retry_after >= 0),
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"invalid RetryPolicy: {'; '.join(problems)}")


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when it is absent or unreadable.

    Both RFC 9110 forms are read: delta-seconds (``"120"``) and an HTTP-date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``, a date in the past means 0). ``now`` must be
    timezone-aware. Garbage is ignored rather than raised: the header is the server's
    hint, and a malformed hint must not turn a retryable answer into a crash.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # RFC 9110 §5.6.7: an HTTP-date is always GMT, even when a sender omits the zone.
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(policy: RetryPolicy, retry_number: int, *, draw: float) -> float:
    """The wait before the ``retry_number``-th retry (1-based); ``draw`` is uniform in [0, 1)."""
    ceiling = min(policy.max_backoff, policy.base_backoff * 2.0 ** (retry_number - 1))
    return ceiling * (1.0 - policy.jitter * draw)


def is_idempotent(request: httpx.Request) -> bool:
    """Whether sending ``request`` twice has the effect of sending it once."""
    marked = request.extensions.get(IDEMPOTENT_EXTENSION)
    if isinstance(marked, bool):
        return marked
    return request.method in IDEMPOTENT_METHODS or IDEMPOTENCY_KEY_HEADER in request.headers


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RetryTransport(httpx.AsyncBaseTransport):
    """Sends through ``inner``, retrying what :mod:`services.runtime.retry` says is safe.

    ``sleep``, ``draw`` (uniform in [0, 1)) and ``now`` are injectable so tests can check
    the waits without spending them.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        draw: UnitRandom = random.random,
        now: UtcNow = _utc_now,
    ) -> None:
        self._inner = inner
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._draw = draw
        self._now = now

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # A one-shot body (a generator, a multipart upload) cannot be sent twice.
        replayable = isinstance(request.stream, httpx.ByteStream)
        attempt = 1
        while True:
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                delay = self._wait_after_error(request, exc, attempt, replayable=replayable)
                if delay is None:
                    raise
                reason = type(exc).__name__
                cause = "backoff"
            else:
                unprocessed = await self._not_processed(response)
                delay = self._wait_after_response(
                    request, response, attempt, replayable=replayable, unprocessed=unprocessed
                )
                if delay is None:
                    response.extensions[ATTEMPTS_EXTENSION] = attempt
                    return response
                reason = str(response.status_code)
                # For the metrics: the vendor said how long, or our own backoff.
                told = response.status_code in _RETRY_AFTER_STATUSES and (
                    "Retry-After" in response.headers
                )
                cause = "retry_after" if told else "backoff"
                await response.aclose()
            _log.info(
                "http.retry",
                method=request.method,
                host=request.url.host,
                path=request.url.path,
                attempt=attempt,
                reason=reason,
                wait_seconds=round(delay, 3),
            )
            count_wait(request.extensions, cause, delay)
            await self._sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _not_processed(self, response: httpx.Response) -> bool:
        says = self.policy.not_processed
        if says is None or response.status_code < httpx.codes.BAD_REQUEST:
            return False
        await response.aread()  # an error body: small, and the caller gets it read
        return says(response)

    def _wait_after_error(
        self, request: httpx.Request, exc: httpx.TransportError, attempt: int, *, replayable: bool
    ) -> float | None:
        if attempt >= self.policy.max_attempts or not replayable:
            return None
        if isinstance(exc, _NEVER_SENT) or (isinstance(exc, _TRANSIENT) and is_idempotent(request)):
            return backoff_delay(self.policy, attempt, draw=self._draw())
        return None

    def _wait_after_response(
        self,
        request: httpx.Request,
        response: httpx.Response,
        attempt: int,
        *,
        replayable: bool,
        unprocessed: bool = False,
    ) -> float | None:
        status = response.status_code
        if status in _RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._now())
            if retry_after is not None:
                if retry_after > self.policy.max_retry_after:
                    _log.info(
                        "http.retry_after_beyond_cap",
                        method=request.method,
                        host=request.url.host,
                        path=request.url.path,
                        status=status,
                        retry_after=response.headers["Retry-After"][:64],
                        cap_seconds=self.policy.max_retry_after,
                    )
                    return None
                if attempt >= self.policy.max_attempts or not replayable:
                    return None
                return retry_after
        if (
            (unprocessed or (status in self.policy.retry_statuses and is_idempotent(request)))
            and replayable
            and attempt < self.policy.max_attempts
        ):
            return backoff_delay(self.policy, attempt, draw=self._draw())
        return None
