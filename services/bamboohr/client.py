"""BambooHR's API as the service uses it: the source's reads, the ping of a connection, and
the one write, a list field's options (``PUT /meta/lists/{fieldId}``).

Facts (``shared/vendors/bamboohr.md``): every call needs ``Accept: application/json``
(older endpoints answer XML otherwise, section 1); ``GET /employees/{id}`` answers only
the id unless ``fields`` names what we want (section 3); throttling is 503 (429 from
2026-09-16) with ``Retry-After`` (section 12), which the runtime's retry transport
waits out; a 401 earns one new access token and one more try.

Everyone in one call: ``POST /reports/custom?format=JSON`` (section 9). The directory
lists Active people only and omits status and dates (section 5); the cursor list
(section 6) takes OAuth only and pages at 2500; the custom report returns Active and
Inactive people with exactly the fields we name, unpaged, so a backfill is one request
whatever the company's size. It is marked deprecated (datasets replace it) but live;
the sandbox does not simulate datasets.

The list write (section 10; SPEC ``update-list-field-values``): a JSON body
``{"options": [...]}``, answered 200 with the whole list as XML, which we do not read (the
alignment matches options by name and reads the list before each decision); 400 malformed,
403 the list is not editable or the credentials may not edit it (OAuth scope
``field.write``), 404 no such list or option, 409 a duplicate value.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol, TypeVar

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from services.bamboohr.models import ChangedEmployees, Employee, EmployeeReport, ListField
from services.runtime.oauth_tokens import TokenKeeper, TokenSet, VendorCallError
from services.runtime.option_lists import OptionListRefusedError
from services.runtime.ratelimit import BULK_EXTENSION
from services.runtime.retry import IDEMPOTENT_EXTENSION
from services.runtime.url_paths import vendor_url_path

__all__ = [
    "ApiKeyAuthorization",
    "Authorization",
    "BambooHRClient",
    "OAuthAuthorization",
    "api_path",
    "employee_path_id",
    "ping_directory",
]

M = TypeVar("M", bound=BaseModel)

_API: Final = "/api/v1"
_JSON: Final = "application/json"
_EMPLOYEE: Final = "/employees/{employee_id}"
_LIST_FIELD: Final = "/meta/lists/{list_field_id}"
_LIST_FIELD_ID: Final = re.compile(r"[0-9]{1,20}")
# Employee ids are digit strings (section 3). "0" is refused too: it is BambooHR's alias for
# the credentials' own employee, never an id of a person a webhook or list could name.
_EMPLOYEE_ID: Final = re.compile(r"[1-9][0-9]{0,19}")


def api_path(template: str, **values: str | int) -> str:
    """``url_path`` for BambooHR calls: an unsafe value is a vendor-call error, nothing sent."""
    return vendor_url_path("BambooHR", template, values)


def employee_path_id(employee_id: str) -> str:
    """``employee_id`` if it is a BambooHR employee id; VendorCallError before any call if not."""
    if _EMPLOYEE_ID.fullmatch(employee_id) is None:
        msg = f"{employee_id[:40]!r} is not a BambooHR employee id (digits); nothing was sent"
        raise VendorCallError(msg)
    return employee_id


async def ping_directory(http: httpx.AsyncClient, company_url: str, authorization: str) -> str:
    """Read the employee directory; the verdict detail counts who is in it.

    ``authorization`` is the whole header value: ``Bearer <token>`` or ``Basic <key:x>``.
    """
    answer = await http.get(
        f"{company_url}{_API}/employees/directory",
        headers={"Authorization": authorization, "Accept": _JSON},
    )
    _raise_for_refusal(answer, "employees/directory")
    employees = answer.json().get("employees", [])
    return f"BambooHR directory answered with {len(employees)} employees"


def _raise_for_refusal(answer: httpx.Response, what: str) -> None:
    # 403 too: repeated unknown API keys make BambooHR refuse the company's API for a while.
    if answer.status_code in (401, 403):
        msg = f"BambooHR refused our credentials (HTTP {answer.status_code}) on {what}"
        raise VendorCallError(msg, unauthorized=True)
    if answer.status_code != 200:
        # The human text travels in a header on classic endpoints (section 13).
        reason = answer.headers.get("x-bamboohr-error-message", "")
        msg = f"BambooHR {what} answered HTTP {answer.status_code} {reason}".rstrip()
        raise VendorCallError(msg)


class Authorization(Protocol):
    """Where the ``Authorization`` header comes from: an OAuth token or an API key."""

    async def header(self) -> str: ...

    async def after_unauthorized(self) -> str | None:
        """A new header after a 401, or None when a retry could not help."""
        ...


class ApiKeyAuthorization:
    """Section 2a: the key as Basic user name, any password."""

    def __init__(self, api_key: str) -> None:
        self._header = "Basic " + base64.b64encode(f"{api_key}:x".encode()).decode()

    async def header(self) -> str:
        return self._header

    async def after_unauthorized(self) -> str | None:
        return None


class OAuthAuthorization:
    """Section 2b: a Bearer token from the TokenKeeper, refreshed ahead of expiry."""

    def __init__(self, keeper: TokenKeeper, connection_id: str) -> None:
        self._keeper = keeper
        self._connection_id = connection_id
        self._tokens: TokenSet | None = None

    async def header(self) -> str:
        self._tokens = await self._keeper.access_token(self._connection_id)
        return f"Bearer {self._tokens.access_token}"

    async def after_unauthorized(self) -> str | None:
        if self._tokens is None:
            return None
        self._tokens = await self._keeper.after_unauthorized(self._connection_id, self._tokens)
        return f"Bearer {self._tokens.access_token}"


class BambooHRClient:
    """One company's calls: reads, and the list write of :meth:`update_list_options`.

    ``bulk`` marks every call as bulk work for the connection's budget
    (``services.runtime.ratelimit``): it then stays out of the share kept for webhook reads.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        company_url: str,
        authorization: Authorization,
        *,
        bulk: bool = False,
    ) -> None:
        self._http = http
        self._api = f"{company_url.rstrip('/')}{_API}"
        self._authorization = authorization
        self._bulk = bulk

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        header = await self._authorization.header()
        answer = await self._send(method, path, header, params, body, idempotent=idempotent)
        if answer.status_code == 401:
            renewed = await self._authorization.after_unauthorized()
            if renewed is not None:
                answer = await self._send(
                    method, path, renewed, params, body, idempotent=idempotent
                )
        return answer

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        answer = await self._exchange(method, path, params=params, body=body)
        _raise_for_refusal(answer, path.lstrip("/"))
        return answer

    async def _send(
        self,
        method: str,
        path: str,
        header: str,
        params: dict[str, str] | None,
        body: bytes | None,
        *,
        idempotent: bool,
    ) -> httpx.Response:
        headers = {"Authorization": header, "Accept": _JSON}
        if body is not None:
            # Exactly this: with "; charset=..." BambooHR parses the body as XML (section 9).
            headers["Content-Type"] = _JSON
        return await self._http.request(
            method,
            f"{self._api}{path}",
            params=params,
            content=body,
            headers=headers,
            # Reads (the report POST included) are safe to resend; a list write says so itself.
            extensions={IDEMPOTENT_EXTENSION: idempotent, BULK_EXTENSION: self._bulk},
        )

    @staticmethod
    def _parse(answer: httpx.Response, model: type[M], what: str) -> M:
        try:
            return model.model_validate_json(answer.content)
        except ValidationError as error:
            msg = f"BambooHR {what} answered a shape we do not read: {error.errors()[0]['msg']}"
            raise VendorCallError(msg) from error

    async def get_employee(self, employee_id: str, fields: Sequence[str]) -> Employee | None:
        """``GET /employees/{id}?fields=...``; None when BambooHR has no such employee."""
        path = api_path(_EMPLOYEE, employee_id=employee_path_id(employee_id))
        answer = await self._exchange("GET", path, params={"fields": ",".join(fields)})
        if answer.status_code == 404:
            return None
        _raise_for_refusal(answer, "employees/{id}")
        return self._parse(answer, Employee, "employees/{id}")

    async def everyone(
        self, fields: Sequence[str], *, changed_since: datetime | None = None
    ) -> list[Employee]:
        """Active and Inactive employees in one custom-report call (see the module docstring).

        ``changed_since`` narrows it to records whose ``lastChanged`` is at or after it.
        """
        report: dict[str, Any] = {"title": "ml-connector sync", "fields": ["id", *fields]}
        if changed_since is not None:
            report["filters"] = {
                "lastChanged": {"includeNull": "no", "value": _since_text(changed_since)}
            }
        answer = await self._call(
            "POST",
            "/reports/custom",
            params={"format": "JSON", "onlyCurrent": "true"},
            body=orjson.dumps(report),
        )
        return self._parse(answer, EmployeeReport, "reports/custom").employees

    async def changed_since(
        self, since: datetime, *, kind: Literal["inserted", "updated", "deleted"] | None = None
    ) -> ChangedEmployees:
        """``GET /employees/changed?since=...[&type=...]`` (section 7): ids, actions, ``latest``."""
        params = {"since": _since_text(since)}
        if kind is not None:
            params["type"] = kind
        answer = await self._call("GET", "/employees/changed", params=params)
        return self._parse(answer, ChangedEmployees, "employees/changed")

    async def org_lists(self) -> list[ListField]:
        """``GET /meta/lists`` (section 10): option lists, departments and divisions among them."""
        answer = await self._call("GET", "/meta/lists")
        try:
            return [ListField.model_validate(item) for item in answer.json()]
        except (ValidationError, TypeError, ValueError) as error:
            msg = "BambooHR meta/lists answered a shape we do not read"
            raise VendorCallError(msg) from error

    async def update_list_options(
        self, list_field_id: str, body: dict[str, Any], *, idempotent: bool
    ) -> None:
        """``PUT /meta/lists/{fieldId}`` (section 10): add, rename or archive options.

        ``idempotent``: the body names existing options by id (archive, restore), so a
        resend after a lost answer does no harm; an add is not resent in place (a second add
        would be refused as a duplicate, or add the option twice).
        OptionListRefusedError when BambooHR refuses for good (403: not editable, or no
        ``field.write``); VendorCallError for every other refusal.
        """
        if _LIST_FIELD_ID.fullmatch(list_field_id) is None:
            msg = f"{list_field_id[:40]!r} is not a BambooHR list field id; nothing was sent"
            raise VendorCallError(msg)
        path = api_path(_LIST_FIELD, list_field_id=list_field_id)
        answer = await self._exchange("PUT", path, body=orjson.dumps(body), idempotent=idempotent)
        if answer.status_code == 200:
            return
        reason = answer.headers.get("x-bamboohr-error-message", "")
        if answer.status_code == 403:
            said = f": {reason}" if reason else ""
            msg = (
                f"BambooHR refused to change list {list_field_id} (HTTP 403{said}); the list is "
                "not editable, or the connection's user or OAuth grant (field.write) may not "
                "edit it"
            )
            raise OptionListRefusedError(msg)
        _raise_for_refusal(answer, "meta/lists/{id}")


def _since_text(moment: datetime) -> str:
    # UTC with "Z": a "+hh:mm" offset would need its "+" sent as %2B (section 7).
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
