"""`VendorSandbox`: the one object a vendor simulator is, and the hooks it fills in.

A vendor subclass declares its `name` and `collections`, and implements `routes()`,
`default_seed()` and `credentials()`. Optional hooks: `setup()` (build vendor-side helpers
such as an `OAuthProvider` once the clock exists), `actions()` (vendor-side UI actions),
`default_limits()`, `limit_key()`, `limited_response()`, `fault_response()`, `on_reset()`,
`webhook_retry_on()`, `webhook_timeout_seconds()` and `vendor_app()` (to rewrite hosts or
paths before routing).
The kit owns the rest: state, clock, limiter, faults, request log and webhook delivery.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from sandboxes.kit.clock import SandboxClock
from sandboxes.kit.faults import FaultInjector, FaultSpec
from sandboxes.kit.limits import Limiter, LimitPolicy, LimitRefusal
from sandboxes.kit.requestlog import RequestLog
from sandboxes.kit.state import Seed, State
from sandboxes.kit.webhooks import WebhookDispatcher

__all__ = ["Action", "ActionError", "VendorSandbox"]

Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""A vendor-side action: takes the JSON payload, changes state, answers JSON."""


class ActionError(Exception):
    """An action refused its payload; the control API answers `status` with the message."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class VendorSandbox(abc.ABC):
    """One vendor's simulator. Subclass it; wrap an instance with `kit.build_app`."""

    name: ClassVar[str]
    collections: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        *,
        clock: SandboxClock | None = None,
        limits: LimitPolicy | None = None,
        seed: Seed | None = None,
        empty: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.clock = clock or SandboxClock()
        self.state = State(self.collections)
        self._initial_limits = limits or self.default_limits()
        self.limiter = Limiter(self.clock, self._initial_limits)
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.webhooks = WebhookDispatcher(
            self.clock,
            transport=webhook_transport,
            retry_on=self.webhook_retry_on,
            timeout_seconds=self.webhook_timeout_seconds(),
        )
        self._seed = seed
        self.setup()
        self.reset(empty=empty)

    # --- what every vendor provides -------------------------------------------------

    @abc.abstractmethod
    def routes(self) -> Sequence[BaseRoute]:
        """The vendor's own endpoints (real paths, methods, shapes)."""

    @abc.abstractmethod
    def default_seed(self) -> Seed:
        """Records loaded on start and on `POST /_sandbox/reset`."""

    @abc.abstractmethod
    def credentials(self) -> dict[str, Any]:
        """Working credentials for the default account (keys fixed per vendor by the issue)."""

    # --- optional hooks ---------------------------------------------------------------

    def credentials_for(self, request: Request) -> dict[str, Any]:
        """`POST /_sandbox/credentials`: `credentials()` unless the answer depends on how the
        sandbox was reached (e.g. a base URL with the caller's scheme, host and port)."""
        return self.credentials()

    def setup(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Build vendor-side helpers; runs once, after the kit parts exist, before seeding."""

    def actions(self) -> Mapping[str, Action]:
        """Vendor-side UI actions served at `POST /_sandbox/actions/{name}`."""
        return {}

    def default_limits(self) -> LimitPolicy:
        return LimitPolicy()

    def limit_key(self, request: Request) -> str | None:
        """The tenant a request counts against (None: not limited). Headers/path only."""
        return "default"

    def limited_response(self, request: Request, refusal: LimitRefusal) -> Response:
        return PlainTextResponse(
            "Too Many Requests",
            status_code=429,
            headers={"Retry-After": str(refusal.retry_after)},
        )

    def fault_response(self, request: Request, fault: FaultSpec) -> Response:
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = _seconds(fault.retry_after)
        if isinstance(fault.body, str):
            return PlainTextResponse(fault.body, status_code=fault.status, headers=headers)
        if fault.body is None:
            return Response(b"", status_code=fault.status, headers=headers)
        return JSONResponse(fault.body, status_code=fault.status, headers=headers)

    def webhook_timeout_seconds(self) -> float:
        """How long one delivery attempt may take before it counts as "no answer"."""
        return 5.0

    def webhook_retry_on(self, status: int | None) -> bool:
        """Which failed deliveries the vendor retries (default: 5xx and no answer)."""
        return status is None or status >= 500

    def on_reset(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Forget vendor-side things that are not records (tokens, lockouts, counters)."""

    def vendor_app(self) -> ASGIApp:
        """The ASGI app serving the vendor's routes; override to rewrite scope first."""
        return Starlette(routes=list(self.routes()))

    # --- kit behaviour ----------------------------------------------------------------

    def reset(self, *, empty: bool = False) -> None:
        """Back to the start: seed (or nothing), no faults, empty logs, clock at real time."""
        self.state.clear()
        self.faults.clear()
        self.requests.clear()
        self.webhooks.reset()
        self.limiter.reset(self._initial_limits)
        self.clock.reset()
        self.on_reset()
        if not empty:
            self.state.load(self._seed if self._seed is not None else self.default_seed())

    async def aclose(self) -> None:
        await self.webhooks.aclose()


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
