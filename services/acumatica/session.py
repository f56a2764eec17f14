"""One signed-in Acumatica API session per connection: opened once, reused, always closed.

Facts (§3a, §3b of ``../shared/vendors/acumatica.md``): ``POST {instance}/entity/auth/login``
with ``name``, ``password``, ``tenant`` (and ``branch``) answers 204 and session cookies;
every open session holds one of the licence's API-user seats (two on a trial licence)
until ``POST /entity/auth/logout`` or a 10-minute idle timeout; an expired session is a
401. So:

- the session is the connection's, not the process's: its cookies are a
  :class:`~services.runtime.shared_session.SharedSession` (credential field
  :data:`SESSION_FIELD`, lease ``acumatica-login:<connection>``). Replicas share one seat,
  and a service killed without a chance to sign out leaves no seat behind: its successor
  carries on in the same session;
- the cookies live in the client's jar while in use; a 401 takes another process's newer
  session or signs in again, once, and repeats the call; a second 401 is the caller's;
- :meth:`AcumaticaSession.close` forgets and signs out the session (the service's shutdown
  and every error path reach it through ``async with``), so no seat is left to the
  timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Final, Protocol, Self

import httpx
import orjson

from services.runtime.logging import get_logger
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.shared_session import SharedSession
from services.runtime.store import StateStore
from services.runtime.vault import Vault

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

    @property
    def logins(self) -> int:
        """Sign-ins (or token grants after a refusal) this process made."""

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
        self._shared = SharedSession(
            store=store,
            vault=vault,
            connection_id=connection_id,
            field=SESSION_FIELD,
            lease=f"acumatica-login:{connection_id}",
            holder=holder,
            sign_in=self._sign_in,
            sign_out=self._sign_out,
            lease_ttl=lease_ttl,
        )
        self._in_jar = 0  # the generation of the session whose cookies the jar holds

    @property
    def logins(self) -> int:
        """Sign-ins this process made (a benchmark counts them)."""
        return self._shared.logins

    @property
    def resumed(self) -> int:
        """Sessions taken from the store instead of signing in."""
        return self._shared.resumed

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

        async def send(generation: int, cookies: str) -> httpx.Response:
            if generation != self._in_jar:
                self._load_jar(cookies)
                self._in_jar = generation
            return await self._http.request(
                method,
                self.base_url + path,
                json=json,
                params=params,
                headers={**_ACCEPT, **(headers or {})},
            )

        return await self._shared.call(
            send, refused=lambda answer: answer.status_code == httpx.codes.UNAUTHORIZED
        )

    def _load_jar(self, cookies: str) -> None:
        jar = self._http.cookies
        jar.clear()
        for name, value, domain, path in orjson.loads(cookies):
            jar.set(name, value, domain=domain, path=path)

    async def _sign_in(self) -> str:
        self._http.cookies.clear()
        answer = await self._http.post(self.base_url + LOGIN, json=self._login, headers=_ACCEPT)
        if answer.status_code != httpx.codes.NO_CONTENT:
            raise login_refusal(answer)
        self._in_jar = -1  # the jar holds a session no generation names yet
        return orjson.dumps(
            sorted((c.name, c.value or "", c.domain, c.path) for c in self._http.cookies.jar)
        ).decode()

    async def _sign_out(self, cookies: str) -> None:
        self._load_jar(cookies)
        try:
            answer = await self._http.post(self.base_url + LOGOUT, headers=_ACCEPT)
        except httpx.HTTPError as error:
            _log.warning("acumatica.sign_out_failed", connection=self.connection_id,
                         error=f"{type(error).__name__}: {error}")  # fmt: skip
            return
        finally:
            self._http.cookies.clear()
            self._in_jar = 0
        if answer.status_code != httpx.codes.NO_CONTENT:
            _log.warning("acumatica.sign_out_refused", connection=self.connection_id,
                         status=answer.status_code)  # fmt: skip

    async def close(self) -> None:
        """Sign out (frees the licence's seat); a failure is logged, never raised."""
        await self._shared.close()
