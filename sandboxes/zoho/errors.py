"""Zoho's answers: the `{"code": N, "message": ...}` envelope and its error codes (section 5).

Success bodies are `{"code": 0, "message": ..., <entity>: ...}`; every error body is
`{"code": <non-zero>, "message": ...}`. Content type as recorded: `application/json;charset=UTF-8`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

__all__ = [
    "CONCURRENCY_CODE",
    "DAILY_LIMIT_CODE",
    "DOES_NOT_EXIST_CODE",
    "INVALID_VALUE_CODE",
    "JSON_NOT_WELL_FORMED_CODE",
    "PER_MINUTE_CODE",
    "ZohoError",
    "zoho_json",
]

MEDIA_TYPE = "application/json;charset=UTF-8"

# [V] ZB:introduction / ZB:errors unless marked.
PER_MINUTE_CODE = 44
DAILY_LIMIT_CODE = 45
CONCURRENCY_CODE = 1070
DOES_NOT_EXIST_CODE = 1002
INVALID_VALUE_CODE = 2  # [V] Deluge docs: "Invalid value passed for <param>"; HTTP 400 [I]
JSON_NOT_WELL_FORMED_CODE = 1038  # [V3p]; HTTP 400 [I]
INVALID_URL_CODE = 5  # [I] "Invalid URL Passed" for a path Books does not serve (HTTP 404)
METHOD_NOT_ALLOWED_CODE = 37  # [I] HTTP 405 body code
DUPLICATE_NAME_CODE = 3062  # [I] open question 5
REQUIRED_FIELD_CODE = 4  # [I] a required field is missing

PER_MINUTE_MESSAGE = (
    "For security reasons your organization has been blocked as it have exceeded the maximum "
    "number of requests per minute that can originate from an organization."
)
CONCURRENCY_MESSAGE = (
    "You have reached the maximum number of in process requests allowed. "
    "Kindly try again after some time."
)


def zoho_json(
    body: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A Zoho JSON answer with the recorded content type."""
    return JSONResponse(dict(body), status_code=status, headers=headers, media_type=MEDIA_TYPE)


class ZohoError(Exception):
    """A refusal in Zoho's shape: HTTP `status` with `{"code": code, "message": message}`."""

    def __init__(self, code: int, message: str, *, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def response(self, headers: Mapping[str, str] | None = None) -> JSONResponse:
        return zoho_json(
            {"code": self.code, "message": self.message}, status=self.status, headers=headers
        )
