"""Expensify's answers for failed jobs: `{"responseMessage", "responseCode"}` (sheet 9).

Jobs raise `ExpensifyError`; the endpoint renders it. The HTTP status is 200 unless the
settings say otherwise (open question 1); malformed requests have their own older shape.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse, JSONResponse, Response

from sandboxes.expensify.settings import ExpensifySandboxSettings

__all__ = [
    "ExpensifyError",
    "MalformedRequestError",
    "error_response",
    "malformed",
    "malformed_response",
    "missing",
]


class ExpensifyError(Exception):
    """A job failed with Expensify's `responseCode` and `responseMessage`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MalformedRequestError(Exception):
    """The request has no readable `requestJobDescription` (not even a job to fail)."""


def missing(name: str) -> ExpensifyError:
    """The manual's wording for an absent required parameter (policy getter example)."""
    return ExpensifyError(410, f"Required parameter '{name}' is missing")


def malformed(name: str) -> ExpensifyError:
    """The manual's wording for a bad argument ("Argument 'type' is missing or malformed")."""
    return ExpensifyError(410, f"Argument '{name}' is missing or malformed")


def error_response(
    settings: ExpensifySandboxSettings,
    error: ExpensifyError,
    *,
    headers: dict[str, str] | None = None,
) -> Response:
    status = 200
    if not settings.errors_as_http_200 and 400 <= error.code <= 599:
        status = error.code
    return JSONResponse(
        {"responseMessage": error.message, "responseCode": error.code},
        status_code=status,
        headers=headers,
    )


def malformed_response(settings: ExpensifySandboxSettings, why: str) -> Response:
    if settings.malformed_request_answer == "json_410":
        return error_response(settings, ExpensifyError(410, why))
    # The old server's Tomcat error page ("HTTP Status 500 - requestJobDescription ...").
    page = (
        "<html><head><title>Error report</title></head><body>"
        f"<h1>HTTP Status 500 - {why}</h1></body></html>"
    )
    return HTMLResponse(page, status_code=500)
