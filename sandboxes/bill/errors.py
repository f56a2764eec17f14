"""BILL's error body: a JSON array of `{timestamp, code, severity, category, message}`.

Sheet section 4. The sandbox raises `BillError` anywhere in a handler; the app renders it.
"""

from __future__ import annotations

from datetime import datetime

from starlette.responses import JSONResponse

__all__ = [
    "INVALID_SESSION",
    "BillError",
    "error_response",
    "iso_millis",
]

INVALID_SESSION = "Session is invalid.  Please log in."  # the double space is BILL's own


def iso_millis(moment: datetime) -> str:
    """BILL's timestamp form: ISO-8601 UTC with milliseconds and `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class BillError(Exception):
    """One BILL error: HTTP status, `BDC_` code, category and message."""

    def __init__(self, status: int, code: str, message: str, *, category: str = "REQUEST") -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.category = category


def error_response(error: BillError, now: datetime) -> JSONResponse:
    body = [
        {
            "timestamp": iso_millis(now),
            "code": error.code,
            "severity": "ERROR",
            "category": error.category,
            "message": error.message,
        }
    ]
    return JSONResponse(body, status_code=error.status)
