"""Acumatica's error bodies: the Web API `HttpError` (sheet section 9).

`{"message": "An error has occurred.", "exceptionMessage": ..., "exceptionType": ...,
"stackTrace": ...}`; 400 adds `modelState`. Record not found by key is a 500 with
`NoEntitySatisfiesTheConditionException` [V3p]; a wrong password is a 500 `PXException` [V3p].
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response

__all__ = [
    "AcumaticaError",
    "bad_request",
    "error_response",
    "invalid_credentials",
    "login_limit",
    "no_entity",
    "no_route",
    "not_logged_in",
]

GENERIC = "An error has occurred."


class AcumaticaError(Exception):
    """Raised inside a handler; rendered as the `HttpError` body with `status`."""

    def __init__(
        self,
        status: int,
        exception_message: str,
        exception_type: str = "PX.Data.PXException",
        *,
        message: str = GENERIC,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(exception_message)
        self.status = status
        self.body: dict[str, Any] = {
            "message": message,
            "exceptionMessage": exception_message,
            "exceptionType": exception_type,
            "stackTrace": "   at PX.Api.ContractBased.EntityService.Execute()",
            **(extra or {}),
        }


def error_response(error: AcumaticaError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=headers)


def invalid_credentials() -> AcumaticaError:
    return AcumaticaError(500, "Error: Invalid credentials. Please try again.")


def no_entity() -> AcumaticaError:
    return AcumaticaError(
        500,
        "No entity satisfies the condition.",
        "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
    )


def not_logged_in() -> JSONResponse:
    # [I] the ASP.NET Web API refusal text; the export documents only the 401 itself.
    return JSONResponse({"message": "You are not logged in."}, status_code=401)


def bad_request(path: str, problem: str, status: int = 400) -> JSONResponse:
    # [I] ASP.NET Web API model binding: `modelState` keyed by the parameter path.
    return JSONResponse(
        {"message": "The request is invalid.", "modelState": {f"entity.{path}": [problem]}},
        status_code=status,
    )


def no_route(path: str, status: int = 404) -> JSONResponse:
    # Open question 1: an endpoint version the instance lacks has no route.
    return JSONResponse(
        {"message": f"No HTTP resource was found that matches the request URI '{path}'."},
        status_code=status,
    )


def login_limit(*, text: bool) -> Response:
    # [V] clients detect the text "API Login Limit"; [V3p] it sometimes arrives as text/plain.
    message = "API Login Limit"
    if text:
        return PlainTextResponse(message, status_code=429)
    body = {
        "message": GENERIC,
        "exceptionMessage": message,
        "exceptionType": "PX.Data.PXException",
    }
    return JSONResponse(body, status_code=429)
