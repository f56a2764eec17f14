"""Acumatica's contract-based REST API as flow 3 uses it: one method per call, plain JSON.

Every call goes to ``{instance}/entity/{endpoint}/{version}/...`` with the connection's
pinned version (§2), through the connection's session (``session.py`` for a password,
``oauth_session.py`` for OAuth).
Departments have no entity in the Default endpoint (§7): they are read and written on the
extension endpoint the connection names (``department_endpoint`` and its version).

What a refusal means is decided once, in :func:`refusal`:

- 404 on the entity URL: the instance does not serve that endpoint version
  (:class:`AcumaticaVersionError`, with the versions it does serve; open question 1);
- 500 ``NoEntitySatisfiesTheConditionException``: not found (§9), answered as None;
- 429, 502-504: later (:class:`AcumaticaUnavailableError`; the client already retried with
  backoff and jitter, the bus retries the message);
- 412: the If-Match / If-None-Match precondition (:class:`AcumaticaConflictError`);
- 400, 403, 422 and other 500s: a refusal a person must look at (:class:`AcumaticaRejectedError`,
  with the fields' own errors when Acumatica names them).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from services.acumatica.session import ApiSession
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.url_paths import vendor_url_path

__all__ = [
    "AcumaticaClient",
    "AcumaticaConflictError",
    "AcumaticaRejectedError",
    "AcumaticaUnavailableError",
    "AcumaticaVersionError",
    "Endpoint",
    "refusal",
]

NOT_FOUND: Final = "NoEntitySatisfiesTheConditionException"
EMPLOYEE_EXPAND: Final = "ContactInfo,EmployeeSettings"


class AcumaticaUnavailableError(VendorCallError):
    """Not now (the licence's limit, a gateway): the message is tried again later."""


class AcumaticaRejectedError(VendorCallError):
    """Acumatica refused the request itself; the same request will not succeed."""

    def __init__(self, message: str, *, status: int, fields: Mapping[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.fields = dict(fields)


class AcumaticaConflictError(AcumaticaRejectedError):
    """412: a create found the record there already, or an update found none."""


class AcumaticaVersionError(VendorCallError):
    """The instance does not serve the connection's endpoint version: reconnect with one it does."""


class Endpoint:
    """An endpoint name and version, as the URL has them."""

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version

    def path(self, entity: str, *keys: str) -> str:
        template = "/entity/{endpoint}/{version}/{entity}" + "".join(
            f"/{{key{i}}}" for i in range(len(keys))
        )
        values = {"endpoint": self.name, "version": self.version, "entity": entity}
        values.update({f"key{i}": key for i, key in enumerate(keys)})
        return vendor_url_path("Acumatica", template, values)

    def __str__(self) -> str:
        return f"{self.name}/{self.version}"


def _body(answer: httpx.Response) -> object:
    try:
        body: object = answer.json()
    except ValueError:
        return None
    return body


def _field_errors(body: object, prefix: str = "") -> dict[str, str]:
    """``{"ContactInfo/Email": "..."}`` from an echoed entity's per-field ``error`` (§4)."""
    found: dict[str, str] = {}
    if not isinstance(body, Mapping):
        return found
    for name, value in body.items():
        if isinstance(value, Mapping):
            if value.get("error"):
                found[prefix + str(name)] = str(value["error"])
            found.update(_field_errors(value, f"{prefix}{name}/"))
    return found


def refusal(what: str, answer: httpx.Response, endpoint: Endpoint) -> VendorCallError | None:
    """What an answer means when it is no success (None when it is one)."""
    status = answer.status_code
    if status < 300:
        return None
    body = _body(answer)
    message = ""
    if isinstance(body, Mapping):
        message = str(
            body.get("exceptionMessage") or body.get("message") or body.get("error") or ""
        )
    text = f"Acumatica {what} ({endpoint}): HTTP {status}: {message or answer.text[:200]}"
    if status == 404:
        return AcumaticaVersionError(
            f"Acumatica does not serve endpoint {endpoint} here (HTTP 404): "
            "check the connection's endpoint version"
        )
    if status in (429, 502, 503, 504):
        return AcumaticaUnavailableError(text)
    fields = _field_errors(body)
    if fields:
        text += "; " + "; ".join(f"{name}: {error}" for name, error in sorted(fields.items()))
    if status == 412:
        return AcumaticaConflictError(text, status=status, fields=fields)
    return AcumaticaRejectedError(text, status=status, fields=fields)


def _not_found(answer: httpx.Response) -> bool:
    body = _body(answer)
    return (
        answer.status_code == 500
        and isinstance(body, Mapping)
        and NOT_FOUND in str(body.get("exceptionType", ""))
    )


def _quoted(value: str) -> str:
    """An OData string literal (§5): single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


class AcumaticaClient:
    """One connection's instance at its pinned endpoint versions."""

    def __init__(
        self, session: ApiSession, *, endpoint: Endpoint, department_endpoint: Endpoint
    ) -> None:
        self.session = session
        self.endpoint = endpoint
        self.department_endpoint = department_endpoint

    async def _call(
        self,
        what: str,
        method: str,
        path: str,
        endpoint: Endpoint,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        missing_is_none: bool = False,
    ) -> object:
        answer = await self.session.request(method, path, json=json, params=params, headers=headers)
        if missing_is_none and _not_found(answer):
            return None
        refused = refusal(what, answer, endpoint)
        if refused is not None:
            raise refused
        return _body(answer)

    # --- the instance ------------------------------------------------------------------

    async def served_endpoints(self) -> list[str]:
        """``GET /entity``: every endpoint the instance serves, as ``name/version``."""
        answer = await self.session.request("GET", "/entity")
        body = _body(answer)
        endpoints = body.get("endpoints", []) if isinstance(body, Mapping) else []
        return [f"{e.get('name')}/{e.get('version')}" for e in endpoints if isinstance(e, Mapping)]

    # --- employees (§6) ---------------------------------------------------------------

    async def employees_with_email(self, email: str) -> list[dict[str, Any]]:
        """Employees whose ``ContactInfo/Email`` is ``email`` (Acumatica compares as stored)."""
        rows = await self._call(
            "GET Employee by email",
            "GET",
            self.endpoint.path("Employee"),
            self.endpoint,
            params={
                "$filter": f"ContactInfo/Email eq {_quoted(email)}",
                "$expand": EMPLOYEE_EXPAND,
            },
        )
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    async def employees_changed_since(self, since: datetime | None) -> list[dict[str, Any]]:
        """Employees whose ``LastModifiedDateTime`` is at or after ``since`` (all: None), §5.

        ``ge``, not ``gt``: a caller passes its watermark minus an overlap and compares
        what comes back, so records sharing a timestamp with the watermark are not missed.
        """
        params = {"$expand": EMPLOYEE_EXPAND}
        if since is not None:
            stamp = since.astimezone(UTC).isoformat(timespec="milliseconds")
            params["$filter"] = f"LastModifiedDateTime ge datetimeoffset'{stamp}'"
        rows = await self._call(
            "GET Employee changed since", "GET", self.endpoint.path("Employee"), self.endpoint,
            params=params,
        )  # fmt: skip
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    async def employee(self, employee_id: str) -> dict[str, Any] | None:
        """One Employee by its key, or None when Acumatica has none (§9: a 500)."""
        found = await self._call(
            "GET Employee",
            "GET",
            self.endpoint.path("Employee", employee_id),
            self.endpoint,
            params={"$expand": EMPLOYEE_EXPAND},
            missing_is_none=True,
        )
        return found if isinstance(found, dict) else None

    async def put_employee(self, body: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
        """``PUT /Employee``: insert only (``If-None-Match: *``) or update only (``If-Match``)."""
        precondition = {"If-None-Match": "*"} if create else {"If-Match": "*"}
        written = await self._call(
            "create Employee" if create else "update Employee",
            "PUT",
            self.endpoint.path("Employee"),
            self.endpoint,
            json=body,
            params={"$expand": EMPLOYEE_EXPAND},
            headers=precondition,
        )
        if not isinstance(written, dict):
            msg = f"Acumatica answered the Employee PUT with no record: {written!r}"[:300]
            raise AcumaticaRejectedError(msg, status=200, fields={})
        return written

    # --- departments (§7, on the extension endpoint) ----------------------------------

    async def departments(self) -> list[dict[str, Any]]:
        rows = await self._call(
            "GET Department",
            "GET",
            self.department_endpoint.path("Department"),
            self.department_endpoint,
        )
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    async def put_department(self, body: Mapping[str, Any]) -> dict[str, Any]:
        written = await self._call(
            "PUT Department",
            "PUT",
            self.department_endpoint.path("Department"),
            self.department_endpoint,
            json=body,
        )
        if not isinstance(written, dict):
            msg = f"Acumatica answered the Department PUT with no record: {written!r}"[:300]
            raise AcumaticaRejectedError(msg, status=200, fields={})
        return written
