"""FreshBooks' HTTP API as the sink uses it: one method per endpoint, vendor-shaped models.

Facts (``shared/vendors/freshbooks.md``): accounting paths carry the ``account_id`` from
users/me (section 1, 3), identity paths the numeric ``business_id``; accounting answers are
``{"response": {"result": ...}}`` and lists page with ``page``/``pages`` (section 4, 5);
team-member lists page with ``meta.total`` and no ``pages`` (7.1); a soft delete is a PUT
with ``vis_state`` alone (6). Retries and the per-connection budget are the runtime's
(``build_client``): 429/503 with ``Retry-After`` are retried for every method, other
failures of idempotent calls too; what is still refused surfaces as
:class:`FreshBooksUnavailableError`, so the bus retries the message later.

Every call takes its access token from the runtime's ``TokenKeeper`` (one refresh in flight
per connection across replicas, the rotated pair saved before use) and, on a 401, asks it
once for a fresh pair.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import date
from typing import Any, Final

import httpx

from services.freshbooks.models import (
    Bill,
    BillPayment,
    BillVendor,
    Expense,
    ExpenseCategory,
    LedgerAccount,
    Staff,
    TeamMember,
)
from services.runtime.http import Page, paginate
from services.runtime.oauth_tokens import TokenKeeper, VendorCallError
from services.runtime.url_paths import vendor_url_path

__all__ = [
    "USERS_ME",
    "FreshBooksClient",
    "FreshBooksIdError",
    "FreshBooksRejectedError",
    "FreshBooksUnavailableError",
    "api_path",
    "numeric_id",
    "ping_users_me",
]

USERS_ME: Final = "/auth/api/v1/users/me"
# Path templates: values go in only through api_path, each encoded into its own segment.
ACCOUNTING: Final = "/accounting/account/{account_id}/"
STAFF_LIST: Final = "users/staffs"
STAFF_ONE: Final = "users/staffs/{staff_id}"
EXPENSE_LIST: Final = "expenses/expenses"
EXPENSE_ONE: Final = "expenses/expenses/{expense_id}"
BILL_VENDOR_LIST: Final = "bill_vendors/bill_vendors"
BILL_VENDOR_ONE: Final = "bill_vendors/bill_vendors/{vendor_id}"
BILL_LIST: Final = "bills/bills"
BILL_ONE: Final = "bills/bills/{bill_id}"
BILL_PAYMENT_LIST: Final = "bill_payments/bill_payments"
BILL_PAYMENT_ONE: Final = "bill_payments/bill_payments/{payment_id}"
CATEGORY_LIST: Final = "expenses/categories"
LEDGER_ACCOUNTS: Final = "/accounting/businesses/{business_uuid}/ledger_accounts/accounts"
TEAM_MEMBERS: Final = "/auth/api/v1/businesses/{business_id}/team_members"
TEAM_MEMBER: Final = "/auth/api/v1/businesses/{business_id}/team_members/{uuid}"

# Accounting objects and callbacks have integer ids (sheet sections 4, 7.2, 7.6, 8:
# "id": 1490, "callbackid": 2001). ASCII digits only: ``\d`` would let other scripts' digits in.
_NUMERIC_ID: Final = re.compile(r"[0-9]{1,20}")


class FreshBooksIdError(VendorCallError):
    """A value meant for a FreshBooks URL path is not of a shape FreshBooks uses: nothing sent."""


def numeric_id(value: str | int, what: str) -> str:
    """``value`` as the digits of a FreshBooks id; FreshBooksIdError before any call if not."""
    text = str(value)
    if _NUMERIC_ID.fullmatch(text) is None:
        msg = f"{what} {text[:40]!r} is not a FreshBooks id (digits); nothing was sent"
        raise FreshBooksIdError(msg)
    return text


def api_path(template: str, **values: str | int) -> str:
    """``url_path`` for FreshBooks calls: an unsafe value is a vendor-call error, nothing sent."""
    return vendor_url_path("FreshBooks", template, values, error=FreshBooksIdError)


class FreshBooksUnavailableError(VendorCallError):
    """FreshBooks did not do it now (429 or 5xx past the retries): try the message again later."""


class FreshBooksRejectedError(VendorCallError):
    """FreshBooks refused the request itself (4xx): retrying the same request will not help."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, unauthorized=status == 401)
        self.status = status


async def ping_users_me(http: httpx.AsyncClient, api_base_url: str, access_token: str) -> str:
    """Read users/me; the verdict detail names who the token speaks for."""
    answer = await http.get(
        f"{api_base_url}{USERS_ME}", headers={"Authorization": f"Bearer {access_token}"}
    )
    if answer.status_code == 401:
        msg = "FreshBooks refused the access token (HTTP 401)"
        raise VendorCallError(msg, unauthorized=True)
    if answer.status_code != 200:
        msg = f"FreshBooks users/me answered HTTP {answer.status_code}"
        raise VendorCallError(msg)
    me = answer.json()["response"]
    return f"FreshBooks users/me answered for {me.get('email', 'the user')}"


def _error_text(answer: httpx.Response) -> str:
    """errno and message of either error shape (accounting ``response.errors`` or ``errno``)."""
    try:
        body = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    errors = body.get("response", {}).get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return f"HTTP {answer.status_code} errno {first.get('errno')}: {first.get('message')}"
    if isinstance(body, dict) and "message" in body:
        return f"HTTP {answer.status_code} errno {body.get('errno')}: {body.get('message')}"
    return f"HTTP {answer.status_code}"


class FreshBooksClient:
    """One FreshBooks connection: its account (accounting) and business (identity family)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        keeper: TokenKeeper,
        connection_id: str,
        account_id: str,
        business_id: str,
        business_uuid: str = "",
        per_page: int = 100,
        invitation_path: str = "/auth/api/v1/users/invitation",
    ) -> None:
        self._http = http  # built by services.runtime.http.build_client for this connection
        self._keeper = keeper
        self.connection_id = connection_id
        self.account_id = account_id
        self.business_id = business_id
        self.business_uuid = business_uuid  # the accounting business (ledger accounts)
        self._per_page = per_page
        self._invitation_path = invitation_path

    def _accounting(self, resource: str, **ids: str | int) -> str:
        return api_path(ACCOUNTING + resource, account_id=self.account_id, **ids)

    def _staff(self, staff_id: str | int) -> str:
        return self._accounting(STAFF_ONE, staff_id=numeric_id(staff_id, "staff id"))

    def _expense(self, expense_id: str | int) -> str:
        return self._accounting(EXPENSE_ONE, expense_id=numeric_id(expense_id, "expense id"))

    async def _call(
        self,
        method: str,
        url: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: list[tuple[str, str]] | None = None,
        missing_ok: bool = False,
    ) -> Any:  # noqa: ANN401 - FreshBooks' JSON
        answer = await self._keeper.call(
            self.connection_id,
            lambda token: self._send(method, url, token, json, params),
            refused=lambda sent: sent.status_code == httpx.codes.UNAUTHORIZED,
        )
        if answer.status_code == 404 and missing_ok:
            return None
        if answer.status_code == 429 or answer.status_code >= 500:
            msg = f"FreshBooks {method} {url.split('?', maxsplit=1)[0]}: {_error_text(answer)}"
            raise FreshBooksUnavailableError(msg)
        if answer.status_code >= 400:
            msg = f"FreshBooks {method} {url.split('?', maxsplit=1)[0]}: {_error_text(answer)}"
            raise FreshBooksRejectedError(msg, status=answer.status_code)
        return answer.json() if answer.content else None

    async def _send(
        self,
        method: str,
        url: str,
        access_token: str,
        json: Mapping[str, Any] | None,
        params: list[tuple[str, str]] | None,
    ) -> httpx.Response:
        query: list[tuple[str, str | int | float | bool | None]] | None = (
            None if params is None else list(params)
        )
        return await self._http.request(
            method,
            url,
            json=json,
            params=query,
            headers={"Authorization": f"Bearer {access_token}"},
        )

    async def _result(self, method: str, url: str, **kwargs: Any) -> Any:  # noqa: ANN401
        body = await self._call(method, url, **kwargs)
        return None if body is None else body["response"]["result"]

    async def _accounting_list(
        self, path: str, plural: str, search: list[tuple[str, str]]
    ) -> AsyncIterator[dict[str, Any]]:
        async def fetch(page: int | None) -> Page[dict[str, Any], int]:
            number = page or 1
            params = [*search, ("page", str(number)), ("per_page", str(self._per_page))]
            result = await self._result("GET", self._accounting(path), params=params)
            pages = int(result.get("pages") or 0)
            return Page(items=result[plural], next_cursor=number + 1 if number < pages else None)

        async for item in paginate(fetch):
            yield item

    # --- staff (section 7.1: GET, PUT, vis_state; create only in the deprecated docs) -----------

    async def find_staff_by_email(self, email: str) -> list[Staff]:
        """Active and archived staff whose email is ``email`` (case-insensitive)."""
        wanted = email.strip().lower()
        found: list[Staff] = []
        # email_like narrows the list; the exact match is ours (a like-match is a contains).
        async for item in self._accounting_list(
            STAFF_LIST, "staffs", [("search[email_like]", wanted)]
        ):
            staff = Staff.model_validate(item)
            if (staff.email or "").strip().lower() == wanted:
                found.append(staff)
        return found

    async def all_staff(self) -> list[Staff]:
        """Every active and archived staff record of the account, page by page."""
        return [
            Staff.model_validate(item)
            async for item in self._accounting_list(STAFF_LIST, "staffs", [])
        ]

    async def get_staff(self, staff_id: int) -> Staff | None:
        result = await self._result("GET", self._staff(staff_id), missing_ok=True)
        return None if result is None else Staff.model_validate(result["staff"])

    async def create_staff(self, fields: Mapping[str, str]) -> Staff:
        result = await self._result(
            "POST", self._accounting(STAFF_LIST), json={"staff": dict(fields)}
        )
        return Staff.model_validate(result["staff"])

    async def put_staff(self, staff_id: int, fields: Mapping[str, str | int]) -> Staff:
        """One partial PUT (section 4); ``vis_state`` only alone: with it the rest is ignored."""
        if "vis_state" in fields and len(fields) > 1:
            msg = "vis_state goes in a PUT of its own, never with field updates"
            raise ValueError(msg)
        result = await self._result("PUT", self._staff(staff_id), json={"staff": dict(fields)})
        return Staff.model_validate(result["staff"])

    # --- team members and invitations (identity family, business_id) ---------------------------

    async def team_members(self) -> list[TeamMember]:
        """Every team member of the business, active or not (``meta.total``, no ``pages``)."""
        url = api_path(TEAM_MEMBERS, business_id=self.business_id)

        async def fetch(page: int | None) -> Page[dict[str, Any], int]:
            number = page or 1
            params = [("page", str(number)), ("per_page", str(self._per_page))]
            body = await self._call("GET", url, params=params)
            total = int(body.get("meta", {}).get("total") or 0)
            more = number * self._per_page < total
            return Page(items=body["response"], next_cursor=number + 1 if more else None)

        return [TeamMember.model_validate(item) async for item in paginate(fetch)]

    async def team_member(self, uuid: str) -> TeamMember | None:
        """One team member by uuid (section 7.1); None when the business has no such member."""
        # The uuid comes from FreshBooks' own invitation answer; its shape is not documented,
        # so it is encoded, not checked.
        url = api_path(TEAM_MEMBER, business_id=self.business_id, uuid=uuid)
        body = await self._call("GET", url, missing_ok=True)
        return None if body is None else TeamMember.model_validate(body["response"])

    async def invite(self, body: Mapping[str, Any]) -> str | None:
        """Send the invitation; the new member's uuid where the answer names it [inferred]."""
        answer = await self._call("POST", self._invitation_path, json=dict(body))
        invitation = (answer or {}).get("response", {}).get("invitation", {})
        found = invitation.get("team_member_uuid") if isinstance(invitation, dict) else None
        return None if found is None else str(found)

    # --- expenses (section 7.2) ----------------------------------------------------------------

    async def get_expense(self, expense_id: str) -> Expense | None:
        """One expense; the id may be a callback's ``object_id``, so its shape is checked."""
        result = await self._result("GET", self._expense(expense_id), missing_ok=True)
        return None if result is None else Expense.model_validate(result["expense"])

    async def set_expense_notes(self, expense_id: int, notes: str) -> Expense:
        result = await self._result(
            "PUT", self._expense(expense_id), json={"expense": {"notes": notes}}
        )
        return Expense.model_validate(result["expense"])

    async def expenses(self, *, updated_min: date | None) -> AsyncIterator[Expense]:
        """Active and archived expenses, those updated on or after ``updated_min`` if given."""
        search = [] if updated_min is None else [("search[updated_min]", updated_min.isoformat())]
        async for item in self._accounting_list(EXPENSE_LIST, "expenses", search):
            yield Expense.model_validate(item)

    async def expenses_on(self, day: date) -> list[Expense]:
        """Expenses dated ``day`` (``search[date_min|max]``, section 7.2), active or not."""
        search = [("search[date_min]", day.isoformat()), ("search[date_max]", day.isoformat())]
        return [
            Expense.model_validate(item)
            async for item in self._accounting_list(EXPENSE_LIST, "expenses", search)
        ]

    async def create_expense(self, fields: Mapping[str, Any]) -> Expense:
        result = await self._result(
            "POST", self._accounting(EXPENSE_LIST), json={"expense": dict(fields)}
        )
        return Expense.model_validate(result["expense"])

    async def expense_categories(self) -> list[ExpenseCategory]:
        """Every expense category (read-only through the API, section 7.3)."""
        return [
            ExpenseCategory.model_validate(item)
            async for item in self._accounting_list(CATEGORY_LIST, "categories", [])
        ]

    async def ledger_accounts(self) -> list[LedgerAccount]:
        """The business's chart of accounts (section 7.7); empty without its uuid."""
        if not self.business_uuid:
            return []
        body = await self._call("GET", api_path(LEDGER_ACCOUNTS, business_uuid=self.business_uuid))
        return [LedgerAccount.model_validate(item) for item in (body or {}).get("data") or []]

    # --- payables: bill vendors and bills (sections 7.4, 7.5) ----------------------------------

    async def bill_vendor(self, vendor_id: str | int) -> BillVendor | None:
        """One bill vendor; the id may be a callback's ``object_id``, so its shape is checked."""
        url = self._accounting(BILL_VENDOR_ONE, vendor_id=numeric_id(vendor_id, "vendor id"))
        result = await self._result("GET", url, missing_ok=True)
        return None if result is None else BillVendor.model_validate(result["bill_vendor"])

    async def bill_vendors(self) -> AsyncIterator[BillVendor]:
        """Every bill vendor, active, archived or deleted."""
        async for item in self._accounting_list(BILL_VENDOR_LIST, "bill_vendors", []):
            yield BillVendor.model_validate(item)

    async def bill(self, bill_id: str | int) -> Bill | None:
        """One bill; the id may be a callback's ``object_id``, so its shape is checked."""
        url = self._accounting(BILL_ONE, bill_id=numeric_id(bill_id, "bill id"))
        result = await self._result("GET", url, missing_ok=True)
        return None if result is None else Bill.model_validate(result["bill"])

    async def bills(self) -> AsyncIterator[Bill]:
        """Every bill (FreshBooks has no updated-since filter for bills: section 5)."""
        async for item in self._accounting_list(BILL_LIST, "bills", []):
            yield Bill.model_validate(item)

    async def bills_of_vendor(self, vendor_id: int) -> list[Bill]:
        """The vendor's bills (``search[vendorid]`` [inferred]; the caller checks each)."""
        search = [("search[vendorid]", str(vendor_id))]
        return [
            Bill.model_validate(item)
            async for item in self._accounting_list(BILL_LIST, "bills", search)
        ]

    async def create_bill(self, fields: Mapping[str, Any]) -> Bill:
        url = self._accounting(BILL_LIST)
        result = await self._result("POST", url, json={"bill": dict(fields)})
        return Bill.model_validate(result["bill"])

    async def create_bill_vendor(self, fields: Mapping[str, Any]) -> BillVendor:
        result = await self._result(
            "POST", self._accounting(BILL_VENDOR_LIST), json={"bill_vendor": dict(fields)}
        )
        return BillVendor.model_validate(result["bill_vendor"])

    async def bill_payment(self, payment_id: str | int) -> BillPayment | None:
        url = self._accounting(BILL_PAYMENT_ONE, payment_id=numeric_id(payment_id, "payment id"))
        result = await self._result("GET", url, missing_ok=True)
        return None if result is None else BillPayment.model_validate(result["bill_payment"])

    async def create_bill_payment(self, fields: Mapping[str, Any]) -> BillPayment:
        result = await self._result(
            "POST", self._accounting(BILL_PAYMENT_LIST), json={"bill_payment": dict(fields)}
        )
        return BillPayment.model_validate(result["bill_payment"])

    async def delete_bill_payment(self, payment_id: int) -> BillPayment:
        """Soft delete (``vis_state`` 1, section 6): the bill owes that amount again."""
        url = self._accounting(BILL_PAYMENT_ONE, payment_id=numeric_id(payment_id, "payment id"))
        result = await self._result("PUT", url, json={"bill_payment": {"vis_state": 1}})
        return BillPayment.model_validate(result["bill_payment"])
