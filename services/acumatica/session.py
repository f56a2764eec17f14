"""One signed-in Acumatica API session per connection: opened once, reused, always closed.

Facts (§3a, §3b of ``../shared/vendors/acumatica.md``): ``POST {instance}/entity/auth/login``
with ``name``, ``password``, ``tenant`` (and ``branch``) answers 204 and session cookies;
every open session holds one of the licence's API-user seats (two on a trial licence)
until ``POST /entity/auth/logout`` or a 10-minute idle timeout; an expired session is a
401. So:

- the session is opened on the first call and reused by every later one (the cookies live
  in the client's jar);
- **one session per connection, not per process**: the session's cookies are kept in the
  vault (credential field :data:`SESSION_FIELD`, encrypted like a password), and a process
  that needs a session takes the stored one before it signs in. Replicas share one seat,
  and a service killed without a chance to sign out (SIGKILL, the OOM killer) leaves no
  seat behind: its successor carries on in the same session;
- a 401 signs in again once and repeats the call; a second 401 is the caller's error. When
  another process signed in meanwhile, its session is taken instead of a new one;
- one sign-in at a time per connection: an asyncio lock in the process and a state-store
  lease (``acumatica-login:<connection>``) across replicas, so a burst of callers never
  spends the licence's seats;
- :meth:`AcumaticaSession.close` signs out and forgets the stored session (the service's
  shutdown and every error path reach it through ``async with``), so no seat is left to
  the timeout. Another replica still at work then signs in again on its next call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Final, Protocol, Self

import httpx
import orjson

from services.runtime.leasing import held_lease
from services.runtime.logging import get_logger
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.store import StateStore
from services.runtime.vault import Vault, VaultError

__all__ = [
    "LOGIN",
    "LOGOUT",
    "SESSION_FIELD",
    "AcumaticaLoginError",
    "AcumaticaSession",
    "ApiSession",
    "login_refusal",
]

LOGIN: Final = "/entity/auth/login"
LOGOUT: Final = "/entity/auth/logout"
SESSION_FIELD: Final = "session_cookies"
"""Credential field holding the connection's signed-in session (its cookies, encrypted)."""
_ACCEPT: Final = {"Accept": "application/json"}

_log = get_logger(__name__)


class ApiSession(Protocol):
    """What the client calls through: this cookie session, or an OAuth connection's
    (``oauth_session.BearerSession``)."""

    logins: int

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response: ...

    async def close(self) -> None: ...


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
    ``vault`` keep the session for every process of the connection; ``holder`` names this
    one in the cross-replica lease; ``lease_ttl`` bounds one sign-in.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        login: Mapping[str, str],
        connection_id: str,
        store: StateStore,
        vault: Vault,
        holder: str,
        lease_ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._login = dict(login)
        self.connection_id = connection_id
        self._store = store
        self._vault = vault
        self._holder = holder
        self._lease_ttl = lease_ttl
        self._lock = asyncio.Lock()
        self._generation = 0  # sessions taken or signed in so far; 0 = none yet
        self._open = False
        self._cookies = ""  # the session in use, as stored (empty: none)
        self.logins = 0
        """Sign-ins this session made (a benchmark counts them)."""
        self.resumed = 0
        """Sessions taken from the store instead of signing in."""

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
                await self._take_or_sign_in(spent="")
            return self._generation

    async def _sign_in_again(self, seen: int) -> None:
        async with self._lock:
            if self._generation == seen:  # nobody signed in again since our call went out
                self._open = False
                await self._take_or_sign_in(spent=self._cookies)

    async def _take_or_sign_in(self, *, spent: str) -> None:
        """The stored session unless it is ``spent`` (refused), else a new sign-in, stored."""
        lease = f"acumatica-login:{self.connection_id}"
        ttl = self._lease_ttl
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            stored = await self._stored_session()
            if stored and stored != spent:
                self._use(stored)
                self.resumed += 1
                _log.info("acumatica.session_taken", connection=self.connection_id)
                return
            answer = await self._http.post(self.base_url + LOGIN, json=self._login, headers=_ACCEPT)
            if answer.status_code != httpx.codes.NO_CONTENT:
                raise login_refusal(answer)
            cookies = orjson.dumps(
                sorted((c.name, c.value or "", c.domain, c.path) for c in self._http.cookies.jar)
            ).decode()
            try:
                await self._keep_session(cookies)
            except BaseException:
                await self._sign_out()  # a seat nobody could find again would be lost
                raise
        self._use(cookies)
        self.logins += 1
        _log.info("acumatica.signed_in", connection=self.connection_id, logins=self.logins)

    def _use(self, cookies: str) -> None:
        jar = self._http.cookies
        jar.clear()
        for name, value, domain, path in orjson.loads(cookies):
            jar.set(name, value, domain=domain, path=path)
        self._cookies = cookies
        self._generation += 1
        self._open = True

    async def _stored_session(self) -> str:
        async with self._store.transaction() as repos:
            stored = await repos.credentials.get(self.connection_id, SESSION_FIELD)
        if stored is None:
            return ""
        try:
            return self._vault.decrypt(
                stored.token, connection_id=self.connection_id, field=SESSION_FIELD
            )
        except VaultError:
            return ""  # a key since removed from the ring: sign in afresh

    async def _keep_session(self, cookies: str) -> None:
        token = self._vault.encrypt(cookies, connection_id=self.connection_id, field=SESSION_FIELD)
        async with self._store.transaction() as repos:
            await repos.credentials.put(
                self.connection_id, SESSION_FIELD, token=token, key_id=self._vault.active_key_id
            )

    async def _forget_session(self) -> None:
        """Drop the stored session if it is still ours (another may have signed in since)."""
        if await self._stored_session() == self._cookies:
            async with self._store.transaction() as repos:
                await repos.credentials.delete(self.connection_id, SESSION_FIELD)

    async def close(self) -> None:
        """Sign out (frees the licence's seat); a failure is logged, never raised."""
        async with self._lock:
            if not self._open:
                return
            self._open = False
            # Whatever the store says, the seat is still freed below; a session left stored
            # costs the next process one refused call, then a sign-in.
            try:
                await self._forget_session()
            except Exception as error:
                _log.warning("acumatica.forget_session_failed", connection=self.connection_id,
                             error=f"{type(error).__name__}: {error}")  # fmt: skip
            await self._sign_out()

    async def _sign_out(self) -> None:
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
