"""One signed-in Acumatica API session per connection: opened once, reused, always closed.

Facts (§3a, §3b of ``../shared/vendors/acumatica.md``): ``POST {instance}/entity/auth/login``
with ``name``, ``password``, ``tenant`` (and ``branch``) answers 204 and session cookies;
every open session holds one of the licence's API-user seats (two on a trial licence)
until ``POST /entity/auth/logout`` or a 10-minute idle timeout; an expired session is a
401. So:

- the session is opened on the first call and reused by every later one (the cookies live
  in the client's jar);
- a 401 signs in again once and repeats the call; a second 401 is the caller's error;
- one sign-in at a time per connection: an asyncio lock in the process and a state-store
  lease (``acumatica-login:<connection>``) across replicas, so a burst of callers never
  spends the licence's seats;
- :meth:`AcumaticaSession.close` signs out (the service's shutdown and every error path
  reach it through ``async with``), so no seat is left to the timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Final, Self

import httpx

from services.runtime.leasing import held_lease
from services.runtime.logging import get_logger
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.store import StateStore

__all__ = ["LOGIN", "LOGOUT", "AcumaticaLoginError", "AcumaticaSession", "login_refusal"]

LOGIN: Final = "/entity/auth/login"
LOGOUT: Final = "/entity/auth/logout"
_ACCEPT: Final = {"Accept": "application/json"}

_log = get_logger(__name__)


class AcumaticaLoginError(VendorCallError):
    """Acumatica refused the sign-in (wrong password, the licence's login limit, ...)."""


def _message(answer: httpx.Response) -> str:
    text = answer.text[:300]
    try:
        body: Any = answer.json()
    except ValueError:
        return text
    if isinstance(body, dict):
        return str(body.get("exceptionMessage") or body.get("message") or text)
    return text


def login_refusal(answer: httpx.Response) -> AcumaticaLoginError:
    """What a refused sign-in means: the seats are taken (later), or the credentials (never)."""
    text = _message(answer)
    if answer.status_code == 429 or "api login limit" in text.lower():
        msg = f"Acumatica refused the sign-in: every API-user seat is taken ({text})"
        return AcumaticaLoginError(msg)
    # A wrong password is a 500 "Invalid credentials" (§3a), not a 401.
    unauthorized = answer.status_code in (400, 401, 403) or "credential" in text.lower()
    msg = f"Acumatica refused the sign-in (HTTP {answer.status_code}): {text}"
    return AcumaticaLoginError(msg, unauthorized=unauthorized)


class AcumaticaSession:
    """The session of one connection over ``http`` (its own client: the jar holds the cookies).

    ``login`` is the sign-in body (name, password, tenant, branch). ``store`` and
    ``holder`` name the cross-replica lease; ``lease_ttl`` bounds one sign-in.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        login: Mapping[str, str],
        connection_id: str,
        store: StateStore,
        holder: str,
        lease_ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._login = dict(login)
        self.connection_id = connection_id
        self._store = store
        self._holder = holder
        self._lease_ttl = lease_ttl
        self._lock = asyncio.Lock()
        self._generation = 0  # sign-ins so far; 0 = not signed in
        self._open = False
        self.logins = 0
        """Sign-ins this session made (a benchmark counts them)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call below the instance URL, signed in; a 401 signs in again once."""
        seen = await self._signed_in()
        answer = await self._send(method, path, json, params, headers)
        if answer.status_code == httpx.codes.UNAUTHORIZED:
            await self._sign_in_again(seen)
            answer = await self._send(method, path, json, params, headers)
        return answer

    async def _send(
        self,
        method: str,
        path: str,
        json: object,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        return await self._http.request(
            method,
            self.base_url + path,
            json=json,
            params=params,
            headers={**_ACCEPT, **(headers or {})},
        )

    async def _signed_in(self) -> int:
        if self._open:
            return self._generation
        async with self._lock:
            if not self._open:
                await self._sign_in()
            return self._generation

    async def _sign_in_again(self, seen: int) -> None:
        async with self._lock:
            if self._generation == seen:  # nobody signed in again since our call went out
                self._open = False
                await self._sign_in()

    async def _sign_in(self) -> None:
        lease = f"acumatica-login:{self.connection_id}"
        ttl = self._lease_ttl
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            answer = await self._http.post(self.base_url + LOGIN, json=self._login, headers=_ACCEPT)
        if answer.status_code != httpx.codes.NO_CONTENT:
            raise login_refusal(answer)
        self._generation += 1
        self._open = True
        self.logins += 1
        _log.info("acumatica.signed_in", connection=self.connection_id, logins=self.logins)

    async def close(self) -> None:
        """Sign out (frees the licence's seat); a failure is logged, never raised."""
        async with self._lock:
            if not self._open:
                return
            self._open = False
            try:
                answer = await self._http.post(self.base_url + LOGOUT, headers=_ACCEPT)
            except httpx.HTTPError as error:
                _log.warning("acumatica.sign_out_failed", connection=self.connection_id,
                             error=f"{type(error).__name__}: {error}")  # fmt: skip
                return
            self._http.cookies.clear()
            if answer.status_code != httpx.codes.NO_CONTENT:
                _log.warning("acumatica.sign_out_refused", connection=self.connection_id,
                             status=answer.status_code)  # fmt: skip
