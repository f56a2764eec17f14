"""A BILL API session: ``POST /v3/login`` with the developer key and a user's login.

Fact sheet section 2: the body names are ``username``, ``password``, ``organizationId`` and
``devKey``; every later call sends ``devKey`` and ``sessionId`` headers (no Bearer). A wrong
login is ``BDC_1101``, a wrong developer key ``BDC_1102``; both are refused credentials.
Sessions expire after 35 idle minutes and logins are limited to 200 an hour per key, so:

- a short job (ping, webhook registration) logs in and out (:func:`logged_in`);
- the services' calls share one session per connection (:class:`BillApiSession`): its
  ``sessionId`` is a :class:`~services.runtime.shared_session.SharedSession` (credential
  field :data:`SESSION_FIELD`), taken by every replica and restart before anyone logs in.
  BILL reports an expired session as a generic refusal (401 ``BDC_1109``): the first one
  after a call takes a newer session or logs in again and repeats the call; a second is a
  credential problem, raised as such.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import httpx

from services.bill.settings import BillSettings
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.shared_session import SharedSession
from services.runtime.store import StateStore
from services.runtime.url_paths import vendor_url_path
from services.runtime.vault import Vault

__all__ = [
    "SESSION_FIELD",
    "BillApiSession",
    "BillSession",
    "api_path",
    "bill_error",
    "error_code",
    "logged_in",
    "login_body",
]

REFUSED_LOGIN: Final = frozenset({"BDC_1101", "BDC_1102", "BDC_1109"})
EXPIRED: Final = "BDC_1109"
SESSION_FIELD: Final = "session_id"
"""Credential field holding the connection's BILL sessionId (encrypted)."""


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


def error_code(answer: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` of BILL's error list (``[{"code": "BDC_…", "message": …}]``)."""
    code, message = "", answer.text[:200]
    try:
        body: Any = answer.json()
        first = body[0] if isinstance(body, list) and body else body
        if isinstance(first, dict):
            code, message = str(first.get("code", "")), str(first.get("message", message))
    except ValueError:
        pass
    return code, message


def bill_error(answer: httpx.Response, what: str) -> VendorCallError:
    """BILL's error list as our exception (``unauthorized`` for a refused login or session)."""
    code, message = error_code(answer)
    refused = code in REFUSED_LOGIN or answer.status_code == 401
    label = f"{code}: " if code else ""
    msg = f"BILL refused to {what} (HTTP {answer.status_code}, {label}{message})"
    return VendorCallError(msg, unauthorized=refused)


def login_body(secrets: Mapping[str, str], plain: Mapping[str, Any]) -> dict[str, str]:
    """``POST /v3/login``'s body but the developer key (the field names are BILL's, §2)."""
    return {
        "username": str(plain.get("username", "")),
        "password": secrets.get("password", ""),
        "organizationId": str(plain.get("organization_id", "")),
    }


@asynccontextmanager
async def logged_in(
    http: httpx.AsyncClient,
    settings: BillSettings,
    secrets: Mapping[str, str],
    plain: Mapping[str, Any],
) -> AsyncIterator[BillSession]:
    """Log in with the connection's credentials; log out again afterwards."""
    session = await _login(http, settings, secrets.get("dev_key", ""), login_body(secrets, plain))
    try:
        yield session
    finally:
        # Best effort: an idle session expires by itself after 35 minutes.
        with suppress(httpx.HTTPError):
            await http.post(f"{settings.api_base_url}/v3/logout", headers=session.headers)


async def _login(
    http: httpx.AsyncClient, settings: BillSettings, dev_key: str, body: Mapping[str, str]
) -> BillSession:
    answer = await http.post(f"{settings.api_base_url}/v3/login", json={**body, "devKey": dev_key})
    if answer.status_code != httpx.codes.OK:
        raise bill_error(answer, "log in")
    found = answer.json()
    return BillSession(dev_key, str(found["sessionId"]), str(found.get("organizationId", "")))


class BillApiSession:
    """Calls of one BILL connection in its shared session, through ``http``."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        settings: BillSettings,
        connection_id: str,
        dev_key: str,
        login: Mapping[str, str],
        store: StateStore,
        vault: Vault,
        holder: str,
    ) -> None:
        self._http = http
        self._settings = settings
        self._dev_key = dev_key
        self._login = dict(login)
        self.connection_id = connection_id
        self._shared = SharedSession(
            store=store,
            vault=vault,
            connection_id=connection_id,
            field=SESSION_FIELD,
            lease=f"bill-login:{connection_id}",
            holder=holder,
            sign_in=self._sign_in,
            sign_out=self._sign_out,
            lease_ttl=timedelta(seconds=settings.session_lease_seconds),
        )

    @property
    def logins(self) -> int:
        """Logins this process made (a benchmark counts them)."""
        return self._shared.logins

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call with the session's headers; an expired session is replaced once."""

        async def send(_: int, session_id: str) -> httpx.Response:
            headers = {"devKey": self._dev_key, "sessionId": session_id}
            return await self._http.request(method, url, json=json, params=params, headers=headers)

        return await self._shared.call(send, refused=_session_refused)

    async def _sign_in(self) -> str:
        session = await _login(self._http, self._settings, self._dev_key, self._login)
        return session.session_id

    async def _sign_out(self, session_id: str) -> None:
        headers = {"devKey": self._dev_key, "sessionId": session_id}
        with suppress(httpx.HTTPError):
            await self._http.post(f"{self._settings.api_base_url}/v3/logout", headers=headers)

    async def close(self) -> None:
        """Forget and log out the shared session (a failure is logged, never raised)."""
        await self._shared.close()


def _session_refused(answer: httpx.Response) -> bool:
    if answer.status_code == httpx.codes.UNAUTHORIZED:
        return True
    return answer.status_code >= httpx.codes.BAD_REQUEST and error_code(answer)[0] == EXPIRED
