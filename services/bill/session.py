"""A BILL API session: ``POST /v3/login`` with the developer key and a user's login.

Fact sheet section 2: the body names are ``username``, ``password``, ``organizationId`` and
``devKey``; every later call sends ``devKey`` and ``sessionId`` headers (no Bearer). A wrong
login is ``BDC_1101``, a wrong developer key ``BDC_1102``; both are refused credentials.
Sessions expire after 35 idle minutes and logins are limited to 200 an hour per key, so a
short job logs out when it is done (``POST /v3/logout``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Final

import httpx

from services.bill.settings import BillSettings
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.url_paths import vendor_url_path

__all__ = ["BillSession", "api_path", "bill_error", "logged_in"]

REFUSED_LOGIN: Final = frozenset({"BDC_1101", "BDC_1102", "BDC_1109"})


@dataclass(frozen=True, slots=True)
class BillSession:
    """The headers every call of one session sends."""

    dev_key: str
    session_id: str
    organization_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"devKey": self.dev_key, "sessionId": self.session_id}


def api_path(template: str, **values: str | int) -> str:
    """``url_path`` for BILL calls: an unsafe value is a vendor-call error, nothing sent."""
    return vendor_url_path("BILL", template, values)


def bill_error(answer: httpx.Response, what: str) -> VendorCallError:
    """BILL's error list (``[{"code": "BDC_…", "message": …}]``) as our exception."""
    code, message = "", answer.text[:200]
    try:
        body: Any = answer.json()
        first = body[0] if isinstance(body, list) and body else body
        if isinstance(first, dict):
            code, message = str(first.get("code", "")), str(first.get("message", message))
    except ValueError:
        pass
    refused = code in REFUSED_LOGIN or answer.status_code == 401
    label = f"{code}: " if code else ""
    msg = f"BILL refused to {what} (HTTP {answer.status_code}, {label}{message})"
    return VendorCallError(msg, unauthorized=refused)


@asynccontextmanager
async def logged_in(
    http: httpx.AsyncClient,
    settings: BillSettings,
    secrets: Mapping[str, str],
    plain: Mapping[str, Any],
) -> AsyncIterator[BillSession]:
    """Log in with the connection's credentials; log out again afterwards."""
    dev_key = secrets.get("dev_key", "")
    answer = await http.post(
        f"{settings.api_base_url}/v3/login",
        json={
            "username": str(plain.get("username", "")),
            "password": secrets.get("password", ""),
            "organizationId": str(plain.get("organization_id", "")),
            "devKey": dev_key,
        },
    )
    if answer.status_code != 200:
        raise bill_error(answer, "log in")
    body = answer.json()
    session = BillSession(dev_key, str(body["sessionId"]), str(body.get("organizationId", "")))
    try:
        yield session
    finally:
        # Best effort: an idle session expires by itself after 35 minutes.
        with suppress(httpx.HTTPError):
            await http.post(f"{settings.api_base_url}/v3/logout", headers=session.headers)
