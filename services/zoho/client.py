"""Zoho Books' HTTP API as the connector uses it: one method per endpoint, vendor models.

Facts (``shared/vendors/zoho-books.md``): the API host is the connection's ``api_domain``
(its data centre, section 1) + ``/books/v3``; ``Authorization: Zoho-oauthtoken`` (2);
``organization_id`` on every call but ``/organizations`` (3); ``code != 0`` is a failure
even on a 2xx, creates answer 201 (4); lists page by ``page``/``per_page`` up to 200 with
``page_context.has_more_page`` (7); every answer carries the daily quota in
``X-Rate-Limit-Limit/-Remaining/-Reset`` (6).

What a refusal means is decided once, in :func:`refusal`: 401 or code 57/14 is the token
(refreshed once, then the connection needs reconnecting), 429 with code 45 is the day's
quota (:class:`ZohoQuotaSpentError`, wait for the reset), other 429s and 5xx are "later"
(:class:`ZohoUnavailableError`, the bus retries), 1002 is "not found", anything else a
refusal a person must look at (:class:`ZohoRejectedError`, with Zoho's message).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import httpx

from schemas.envelope import utcnow
from services.runtime.oauth_tokens import TokenKeeper, VendorCallError
from services.runtime.outages import VendorThrottledError
from services.runtime.url_paths import vendor_url_path
from services.runtime.vendor_quota import VendorQuota
from services.zoho.models import Contact, ContactRow, ReportingTag

__all__ = [
    "DUPLICATE_NAME_CODE",
    "QuotaListener",
    "ZohoBooksClient",
    "ZohoNotFoundError",
    "ZohoQuotaSpentError",
    "ZohoRejectedError",
    "ZohoThrottledError",
    "ZohoUnavailableError",
    "api_path",
    "books_get",
    "quota_of",
    "refusal",
]

BOOKS: Final = "/books/v3"
TOKEN_CODES: Final = frozenset({14, 57})  # [V3p] 57 "not authorized"; 14 "invalid token" [I]
PER_MINUTE_CODE: Final = 44
DAILY_CODE: Final = 45
CONCURRENCY_CODE: Final = 1070
NOT_FOUND_CODE: Final = 1002
DUPLICATE_NAME_CODE: Final = 3062  # [I] open question 5: a second contact of one name

QuotaListener = Callable[[VendorQuota], Awaitable[None]]
"""Told the daily quota each answer reports (the access keeps it in the store)."""


def api_path(template: str, **values: str | int) -> str:
    """``url_path`` for Zoho Books calls: an unsafe value is a vendor-call error, nothing sent."""
    return vendor_url_path("Zoho Books", template, values)


class ZohoUnavailableError(VendorCallError):
    """Zoho did not do it now (per-minute or concurrency 429, 5xx): try the message later."""


class ZohoThrottledError(ZohoUnavailableError, VendorThrottledError):
    """Zoho's per-minute or concurrency limit (429, code 44 or its concurrency code): the
    message waits in place until the window turns, never dead-lettered for it."""


class ZohoRejectedError(VendorCallError):
    """Zoho refused the request itself: the same request will not succeed (needs review)."""

    def __init__(self, message: str, *, status: int, code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ZohoNotFoundError(ZohoRejectedError):
    """Code 1002: the record does not exist (deleted by hand, or another organisation's)."""


class ZohoQuotaSpentError(VendorCallError):
    """The organisation's daily quota is spent (code 45, or at our reserve): wait for reset."""

    def __init__(self, message: str, *, resets_at: datetime, quota: VendorQuota | None) -> None:
        super().__init__(message)
        self.resets_at = resets_at
        self.quota = quota


def _body(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def quota_of(answer: httpx.Response, *, now: datetime) -> VendorQuota | None:
    """The daily quota an answer reports, or None when it carries no (readable) figures."""
    try:
        limit = int(answer.headers["X-Rate-Limit-Limit"])
        remaining = int(answer.headers["X-Rate-Limit-Remaining"])
        reset_seconds = float(answer.headers["X-Rate-Limit-Reset"])
    except (KeyError, ValueError):
        return None
    return VendorQuota(
        limit=limit,
        remaining=max(remaining, 0),
        resets_at=now + timedelta(seconds=max(reset_seconds, 0.0)),
        observed_at=now,
    )


def refusal(what: str, answer: httpx.Response, *, now: datetime) -> VendorCallError | None:
    """What a Zoho answer means when it is not a success (None when it is one)."""
    body = _body(answer)
    code = body.get("code")
    code = code if isinstance(code, int) else None
    if answer.status_code < 300 and code in (0, None):
        return None
    message = str(body.get("message") or answer.text[:200] or f"HTTP {answer.status_code}")
    text = f"Zoho Books {what}: HTTP {answer.status_code} code {code}: {message}"
    if answer.status_code == 401 or code in TOKEN_CODES:
        return VendorCallError(text, unauthorized=True)
    if code == DAILY_CODE:
        quota = quota_of(answer, now=now)
        resets_at = quota.resets_at if quota else now + timedelta(hours=1)
        return ZohoQuotaSpentError(text, resets_at=resets_at, quota=quota)
    if answer.status_code == 429 or code == CONCURRENCY_CODE:
        return ZohoThrottledError(text)
    if answer.status_code >= 500:
        return ZohoUnavailableError(text)
    missing = code == NOT_FOUND_CODE or answer.status_code == 404
    kind = ZohoNotFoundError if missing else ZohoRejectedError
    return kind(text, status=answer.status_code, code=code)


async def books_get(
    http: httpx.AsyncClient,
    api_domain: str,
    path: str,
    access_token: str,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """GET ``{api_domain}/books/v3{path}`` once (consent and ping); errors as VendorCallError."""
    answer = await http.get(
        f"{api_domain}{BOOKS}{path}",
        params=params,
        headers={"Authorization": f"Zoho-oauthtoken {access_token}"},
    )
    refused = refusal(f"GET {path}", answer, now=utcnow())
    if refused is not None:
        raise refused
    return _body(answer)


class ZohoBooksClient:
    """One Zoho Books organisation through one connection's tokens, in its data centre."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        keeper: TokenKeeper,
        connection_id: str,
        api_domain: str,
        organization_id: str,
        reporting_tags_path: str = "/reportingtags",
        reporting_tags_max_age: timedelta = timedelta(minutes=5),
        per_page: int = 200,
        on_quota: QuotaListener | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._http = http  # built by services.runtime.http.build_client for this organisation
        self._keeper = keeper
        self.connection_id = connection_id
        self.api_domain = api_domain.rstrip("/")
        self.organization_id = organization_id
        self._tags_path = reporting_tags_path
        self._tags_max_age = reporting_tags_max_age
        self._tags_read: tuple[datetime, list[ReportingTag]] | None = None
        self._per_page = per_page
        self._on_quota = on_quota
        self._clock = clock

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        answer = await self._keeper.call(
            self.connection_id,
            lambda token: self._send(method, path, token, json, params),
            refused=lambda sent: sent.status_code == 401 or _body(sent).get("code") in TOKEN_CODES,
        )
        now = self._clock()
        quota = quota_of(answer, now=now)
        if quota is not None and self._on_quota is not None:
            await self._on_quota(quota)
        refused = refusal(f"{method} {path}", answer, now=now)
        if refused is not None:
            raise refused
        return _body(answer)

    async def _send(
        self,
        method: str,
        path: str,
        access_token: str,
        json: Mapping[str, Any] | None,
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        return await self._http.request(
            method,
            f"{self.api_domain}{BOOKS}{path}",
            json=json,
            params={**(params or {}), "organization_id": self.organization_id},
            headers={"Authorization": f"Zoho-oauthtoken {access_token}"},
        )

    # --- contacts ----------------------------------------------------------------------------

    async def contacts_with_email(self, email: str) -> list[ContactRow]:
        """``GET /contacts?email=``: contacts whose own or any person's email is ``email``.

        Zoho's match is exact [V]; the case is compared here too (casefold), as the sink
        matches people by email case-insensitively.
        """
        body = await self._call("GET", "/contacts", params={"email": email, "per_page": "200"})
        return [ContactRow.model_validate(row) for row in body.get("contacts", [])]

    async def contact(self, contact_id: str) -> Contact | None:
        """The whole contact, or None when Zoho says it does not exist (1002)."""
        try:
            body = await self._call("GET", api_path("/contacts/{id}", id=contact_id))
        except ZohoNotFoundError:
            return None
        return Contact.model_validate(body["contact"])

    async def create_contact(self, body: Mapping[str, Any]) -> Contact:
        answer = await self._call("POST", "/contacts", json=body)
        return Contact.model_validate(answer["contact"])

    async def update_contact(self, contact_id: str, body: Mapping[str, Any]) -> Contact:
        path = api_path("/contacts/{id}", id=contact_id)
        answer = await self._call("PUT", path, json=body)
        return Contact.model_validate(answer["contact"])

    async def update_person(self, person_id: str, body: Mapping[str, Any]) -> None:
        """``PUT /contacts/contactpersons/{id}``: one person, the contact's others untouched."""
        await self._call("PUT", api_path("/contacts/contactpersons/{id}", id=person_id), json=body)

    async def add_person(self, body: Mapping[str, Any]) -> None:
        """``POST /contacts/contactpersons`` (``contact_id`` and ``first_name`` in the body)."""
        await self._call("POST", "/contacts/contactpersons", json=body)

    async def set_active(self, contact_id: str, *, active: bool) -> None:
        """Mark active / mark inactive: each its own call (section 8)."""
        verb = "active" if active else "inactive"
        await self._call("POST", api_path("/contacts/{id}/" + verb, id=contact_id))

    async def contact_rows(self, *, newest_first: bool = False) -> AsyncIterator[ContactRow]:
        """Every contact of the organisation, ``per_page`` (200) a call, by change time.

        ``newest_first`` lets a caller that wants only recent changes stop paging early.
        """
        page = 1
        while True:
            body = await self._call(
                "GET",
                "/contacts",
                params={
                    "page": str(page),
                    "per_page": str(self._per_page),
                    "filter_by": "Status.All",
                    "sort_column": "last_modified_time",
                    "sort_order": "D" if newest_first else "A",
                },
            )
            for row in body.get("contacts", []):
                yield ContactRow.model_validate(row)
            if not (body.get("page_context") or {}).get("has_more_page"):
                return
            page += 1

    # --- reporting tags [inferred paths: settings.reporting_tags_path] -------------------------

    async def reporting_tags(self, *, fresh: bool = False) -> list[ReportingTag]:
        """Every reporting tag with its options (one list call, then one call per tag).

        Read again at most every ``reporting_tags_max_age`` (every hire needs them and they
        rarely change) unless ``fresh``.
        """
        now = self._clock()
        if not fresh and self._tags_read is not None:
            read_at, tags = self._tags_read
            if now - read_at < self._tags_max_age:
                return tags
        listed = await self._call("GET", self._tags_path)
        tags = []
        for row in listed.get("reporting_tags", []):
            tag = await self.reporting_tag(str(row["tag_id"]))
            if tag is not None:
                tags.append(tag)
        self._tags_read = (now, tags)
        return tags

    async def reporting_tag(self, tag_id: str) -> ReportingTag | None:
        try:
            body = await self._call("GET", api_path(self._tags_path + "/{id}", id=tag_id))
        except ZohoNotFoundError:
            return None
        return ReportingTag.model_validate(body["reporting_tag"])

    async def replace_tag_options(self, tag_id: str, options: list[dict[str, Any]]) -> ReportingTag:
        """``PUT .../{id}/options``: the whole option list (an option left out is removed:
        callers always send every existing option back) [inferred semantics]."""
        path = api_path(self._tags_path + "/{id}/options", id=tag_id)
        # Until Zoho answers, what it holds is unknown: no copy serves meanwhile.
        cached, self._tags_read = self._tags_read, None
        body = await self._call("PUT", path, json={"tag_options": options})
        tag = ReportingTag.model_validate(body["reporting_tag"])
        if cached is not None:
            # The answer is the tag as it now is: the next hire's read is not spent on it.
            read_at, tags = cached
            self._tags_read = (read_at, [tag if t.tag_id == tag.tag_id else t for t in tags])
        return tag
