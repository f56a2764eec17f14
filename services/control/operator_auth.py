"""The operator token check, written once for every operator route (API and OAuth start).

``Authorization: Bearer <MLC_OPERATOR_TOKEN>``, compared in constant time. Without a
configured token the routes answer 503 rather than run open.

:class:`OperatorAuth` is the one check. Routes get it through :func:`operator_route_class`,
which runs it before FastAPI reads the body or the parameters: a request without the token
is answered 401 whatever it carries, never 422 about a body nobody authorised.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = ["OperatorAuth", "operator_route_class"]


class OperatorAuth:
    """Answers a request that lacks the operator token; None lets it through."""

    def __init__(self, operator_token: str | None) -> None:
        self._expected = operator_token.encode() if operator_token else None

    def __call__(self, request: Request) -> Response | None:
        if self._expected is None:
            return JSONResponse(
                {"error": "operator API disabled: set MLC_OPERATOR_TOKEN and restart"},
                status_code=503,
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), self._expected):
            return JSONResponse(
                {"error": "missing or wrong bearer token (MLC_OPERATOR_TOKEN)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return None


def operator_route_class(auth: OperatorAuth) -> type[APIRoute]:
    """A route class whose routes answer only requests bearing the operator token."""

    class OperatorRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                refused = auth(request)
                return refused if refused is not None else await handle(request)

            return guarded

    return OperatorRoute
