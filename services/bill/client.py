"""BILL's v3 API as flow ap-bill uses it: one method per call, plain JSON.

Every call goes through the connection's :class:`~services.bill.session.BillApiSession`
(its shared ``sessionId``) below ``MLC_BILL_API_BASE_URL``. What a refusal means is decided
once, in :func:`refusal` (fact sheet §4, §5):

- 429/503, ``BDC_1322`` (too many requests in flight) and ``BDC_1144`` (the hourly quota):
  later (:class:`BillUnavailableError`; the transport already retried what it safely could);
- 401 after the session was replaced once: the credentials (``unauthorized``);
- other 4xx: a refusal a person must look at (:class:`BillRejectedError`, BILL's message);
- 5xx: later.

Lists are read page by page (``max=100``, the ``nextPage`` token until it is absent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from services.bill.session import BillApiSession, api_path, error_code
from services.runtime.oauth_tokens import VendorCallError

__all__ = [
    "PAGE_SIZE",
    "BillClient",
    "BillRejectedError",
    "BillUnavailableError",
    "quoted",
    "refusal",
]

PAGE_SIZE: Final = 100  # §6: at most 100 a page
LATER_CODES: Final = frozenset({"BDC_1322", "BDC_1144"})


class BillUnavailableError(VendorCallError):
    """Not now (rate codes, the hourly quota, 5xx): the message is tried again later."""


class BillRejectedError(VendorCallError):
    """BILL refused the request itself; the same request will not succeed."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def refusal(answer: httpx.Response, what: str) -> VendorCallError:
    """What a failed answer means (see the module's docstring)."""
    code, message = error_code(answer)
    label = f"{code}: " if code else ""
    msg = f"BILL refused to {what} (HTTP {answer.status_code}, {label}{message})"
    status = answer.status_code
    if code in LATER_CODES or status in (429, 503) or status >= httpx.codes.INTERNAL_SERVER_ERROR:
        return BillUnavailableError(msg)
    if status == httpx.codes.UNAUTHORIZED:
        return VendorCallError(msg, unauthorized=True)
    return BillRejectedError(msg, status=status, code=code)


def _bill_time(moment: datetime) -> str:
    """A filter time in one of BILL's accepted forms (§6): ``yyyy-MM-dd'T'HH:mm:ss.SSSX``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def quoted(value: str) -> str | None:
    """A filter value in BILL's quotes (§6), or None when it cannot be quoted."""
    return None if '"' in value else f'"{value}"'


class BillClient:
    """The calls of one BILL connection."""

    def __init__(self, session: BillApiSession, *, api_base_url: str) -> None:
        self.session = session
        self._base = api_base_url.rstrip("/")

    async def _call(
        self,
        what: str,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> object:
        answer = await self.session.request(method, self._base + path, json=json, params=params)
        if answer.status_code not in ok:
            raise refusal(answer, what)
        return answer.json() if answer.content else None

    async def _record(
        self, what: str, method: str, path: str, *, json: object = None
    ) -> dict[str, Any]:
        """A call that answers one record."""
        found = await self._call(what, method, path, json=json)
        if not isinstance(found, dict):
            msg = f"BILL answered {what} with no record: {found!r}"[:300]
            raise BillRejectedError(msg, status=200, code="")
        return found

    async def _found(self, what: str, path: str) -> dict[str, Any] | None:
        """One record by id; None when BILL has none (404)."""
        answer = await self.session.request("GET", self._base + path)
        if answer.status_code == httpx.codes.NOT_FOUND:
            return None
        if answer.status_code != httpx.codes.OK:
            raise refusal(answer, what)
        found: dict[str, Any] = answer.json()
        return found

    async def _pages(
        self, what: str, path: str, params: Mapping[str, str]
    ) -> AsyncIterator[dict[str, Any]]:
        query = {**params, "max": str(PAGE_SIZE)}
        while True:
            body = await self._call(what, "GET", path, params=query)
            page = body if isinstance(body, dict) else {}
            for row in page.get("results") or []:
                if isinstance(row, dict):
                    yield row
            token = page.get("nextPage")
            if not token:
                return
            query = {**query, "page": str(token)}

    async def _all(self, what: str, path: str, filters: str = "") -> list[dict[str, Any]]:
        params = {"filters": filters} if filters else {}
        return [row async for row in self._pages(what, path, params)]

    # --- vendors (§7) -------------------------------------------------------------------

    async def vendors_where(self, field: str, op: str, value: str) -> list[dict[str, Any]]:
        """Vendors whose ``field`` matches (``sw``/``eq``); every vendor when unquotable."""
        text = quoted(value)
        filters = f"{field}:{op}:{text}" if text else ""
        return await self._all("list vendors", "/v3/vendors", filters)

    async def vendor(self, vendor_id: str) -> dict[str, Any] | None:
        return await self._found(
            "read a vendor", api_path("/v3/vendors/{vendor_id}", vendor_id=vendor_id)
        )

    async def create_vendor(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self._record("create a vendor", "POST", "/v3/vendors", json=body)

    async def update_vendor(self, vendor_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        path = api_path("/v3/vendors/{vendor_id}", vendor_id=vendor_id)
        return await self._record("update a vendor", "PATCH", path, json=body)

    async def set_vendor_archived(self, vendor_id: str, *, archived: bool) -> None:
        verb = "archive" if archived else "restore"
        path = api_path("/v3/vendors/{vendor_id}/{verb}", vendor_id=vendor_id, verb=verb)
        await self._call(f"{verb} a vendor", "POST", path)

    # --- bills (§8) ---------------------------------------------------------------------

    async def bills_of_vendor(self, vendor_id: str) -> list[dict[str, Any]]:
        text = quoted(vendor_id)
        return await self._all("list bills", "/v3/bills", f"vendorId:eq:{text}" if text else "")

    async def bill(self, bill_id: str) -> dict[str, Any] | None:
        return await self._found("read a bill", api_path("/v3/bills/{bill_id}", bill_id=bill_id))

    async def create_bill(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self._record("create a bill", "POST", "/v3/bills", json=body)

    async def replace_bill(self, bill_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT: the body's line items become the bill's (§8; PATCH would keep the others)."""
        path = api_path("/v3/bills/{bill_id}", bill_id=bill_id)
        return await self._record("replace a bill", "PUT", path, json=body)

    async def set_bill_archived(self, bill_id: str, *, archived: bool) -> None:
        verb = "archive" if archived else "restore"
        path = api_path("/v3/bills/{bill_id}/{verb}", bill_id=bill_id, verb=verb)
        await self._call(f"{verb} a bill", "POST", path)

    # --- payments (§9) -------------------------------------------------------------------

    async def payment(self, payment_id: str) -> dict[str, Any] | None:
        return await self._found(
            "read a payment", api_path("/v3/payments/{payment_id}", payment_id=payment_id)
        )

    async def payments_updated_since(self, since: datetime | None) -> list[dict[str, Any]]:
        """Payments updated at or after ``since`` (every payment when None), oldest first."""
        filters = "" if since is None else f'updatedTime:gte:"{_bill_time(since)}"'
        params = {"sort": "updatedTime:asc", **({"filters": filters} if filters else {})}
        return [row async for row in self._pages("list payments", "/v3/payments", params)]

    # --- chart of accounts (§10) ----------------------------------------------------------

    async def chart_of_accounts(self) -> list[dict[str, Any]]:
        return await self._all(
            "list the chart of accounts", "/v3/classifications/chart-of-accounts"
        )
