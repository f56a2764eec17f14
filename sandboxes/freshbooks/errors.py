"""FreshBooks' error bodies, one shape per API family (fact sheet sections 2-4, 7.7, 8).

- accounting: `{"response": {"errors": [{"errno", "field", "message", "object", "value"}]}}`
  (SDK fixture `get_client_response__not_found.json`);
- auth / identity / OAuth: `{"error": code, "error_description": text}`;
- events (callbacks): `{"errno": n, "message": text[, "details": [..]]}`;
- ledger (businesses/{uuid}):
  `{"errors": {"message", "status", "details": [{"reason", "metadata"}]}}`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.responses import JSONResponse

__all__ = [
    "AccountingError",
    "AuthError",
    "EventsError",
    "Family",
    "FreshBooksError",
    "LedgerError",
    "accounting_error",
    "not_found",
    "render",
]

Family = Literal["accounting", "auth", "events", "ledger"]

# errno table, from the official Postman collection (sheet section 4).
REQUIRED = 1001
ACCESS_DENIED = 1003
INVALID_VALUE = 1004
PARSE_ERROR = 1005
DELETED_RESOURCE = 1011
UNKNOWN_RESOURCE = 1012
BAD_PER_PAGE = 1013
BAD_PAGE = 1014


class FreshBooksError(Exception, abc.ABC):
    """An error answer; `body(family)` shapes it as the family of the endpoint would."""

    status: int

    @abc.abstractmethod
    def body(self, family: Family) -> dict[str, Any]:
        """The JSON body in the shape of `family`."""


@dataclass
class AccountingError(FreshBooksError):
    status: int
    errno: int
    message: str
    field: str | None = None
    object: str | None = None
    value: str | None = None

    def body(self, family: Family) -> dict[str, Any]:
        if family == "events":
            return {"errno": self.status, "message": self.message}
        if family == "ledger":
            return _ledger(self.status, self.message, self.field)
        if family == "auth":
            codes = {401: "unauthenticated", 403: "access_denied", 404: "not_found"}
            return {
                "error": codes.get(self.status, "invalid_request"),
                "error_description": self.message,
            }
        item = {
            "errno": self.errno,
            "field": self.field,
            "message": self.message,
            "object": self.object,
            "value": self.value,
        }
        return {"response": {"errors": [item]}}


@dataclass
class AuthError(FreshBooksError):
    """401/400 from the auth service; rendered per family (the events API has its own)."""

    status: int
    error: str
    description: str

    def body(self, family: Family) -> dict[str, Any]:
        if family == "events" and self.status == 401:
            # SDK fixture get_callback_response__no_auth.json, word for word.
            message = "invalid_token: The request token failed to authenticate or validate."
            return {"errno": 401, "message": message}
        if family == "events":
            return {"errno": self.status, "message": f"{self.error}: {self.description}"}
        return {"error": self.error, "error_description": self.description}


@dataclass
class EventsError(FreshBooksError):
    status: int
    errno: int
    message: str
    details: list[str] = field(default_factory=list)

    def body(self, family: Family) -> dict[str, Any]:
        body: dict[str, Any] = {"errno": self.errno, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


@dataclass
class LedgerError(FreshBooksError):
    status: int
    details: list[tuple[str | None, str]]

    def body(self, family: Family) -> dict[str, Any]:
        errors: dict[str, Any] = {
            "message": f"Request failed with status code {self.status}",
            "status": self.status,
            "details": [
                {
                    "reason": f"{name}: {message}" if name else message,
                    "metadata": {"message": message, "field": name},
                }
                for name, message in self.details
            ],
        }
        return {"errors": errors}


def _ledger(status: int, message: str, name: str | None) -> dict[str, Any]:
    return LedgerError(status, [(name, message)]).body("ledger")


def accounting_error(
    status: int,
    errno: int,
    message: str,
    *,
    field: str | None = None,
    object: str | None = None,
    value: object = None,
) -> AccountingError:
    return AccountingError(
        status=status,
        errno=errno,
        message=message,
        field=field,
        object=object,
        value=None if value is None else str(value),
    )


def not_found(object_name: str, key: str, value: object) -> AccountingError:
    """`errno 1012`, the shape of the SDK's `get_client_response__not_found.json`."""
    label = object_name.replace("_", " ").capitalize()
    return accounting_error(
        404, UNKNOWN_RESOURCE, f"{label} not found.", field=key, object=object_name, value=value
    )


def render(
    error: FreshBooksError, family: Family, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error.body(family), status_code=error.status, headers=headers)
