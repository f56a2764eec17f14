"""How BambooHR's classic endpoints fail: a status, no body, the text in a header (sheet 13)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

__all__ = ["BambooError", "classic_error", "webhook_error"]

ERROR_HEADER = "X-BambooHR-Error-Message"


class BambooError(Exception):
    """A refusal in BambooHR's terms; the route renders it in the endpoint's own style."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def classic_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Response:
    """Status + empty body + `X-BambooHR-Error-Message` (the older endpoints' style)."""
    return Response(
        b"",
        status_code=status,
        headers={ERROR_HEADER: message, **(headers or {})},
        media_type="text/html; charset=UTF-8",
    )


def webhook_error(status: int, *messages: str, issues: list[str] | None = None) -> JSONResponse:
    """The webhook endpoints' JSON error: `{"errors": [{"error": ...}]}` (sheet 13)."""
    if issues is not None:
        return JSONResponse(
            {"errors": [{"error": messages[0], "issues": issues}]}, status_code=status
        )
    if len(messages) == 1 and status == 403:
        return JSONResponse({"errors": {"error": messages[0]}}, status_code=status)
    return JSONResponse({"errors": [{"error": m} for m in messages]}, status_code=status)
