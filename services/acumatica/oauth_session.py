"""The API session of an OAuth connection: a bearer token per call, refreshed once at a time.

Facts (§3c of ``../shared/vendors/acumatica.md``): with the scope ``api offline_access``
Acumatica keeps one API session for the whole token chain, across refreshes, and no
sign-out is needed. So this session holds no seat of its own to give back: it asks the
runtime's ``TokenKeeper`` for a valid access token on every call (refreshed ahead of
expiry, one refresh in flight per connection across replicas, the rotated refresh token
saved before use), and after a 401 asks for a fresh one and repeats the call once.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from services.runtime.oauth_tokens import TokenKeeper

__all__ = ["BearerSession"]

_ACCEPT = {"Accept": "application/json"}


class BearerSession:
    """Calls below ``base_url`` as the OAuth connection ``connection_id``."""

    def __init__(
        self, *, http: httpx.AsyncClient, base_url: str, connection_id: str, keeper: TokenKeeper
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self.connection_id = connection_id
        self._keeper = keeper
        self.logins = 0
        """Token grants this session asked for after a 401 (sign-ins, in a benchmark's terms)."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call with a valid token; a 401 gets a fresh token and one more try."""

        def refused(answer: httpx.Response) -> bool:
            unauthorized = answer.status_code == httpx.codes.UNAUTHORIZED
            self.logins += unauthorized
            return unauthorized

        return await self._keeper.call(
            self.connection_id,
            lambda token: self._http.request(
                method, self.base_url + path, json=json, params=params,
                headers=_with_token(headers, token),
            ),
            refused=refused,
        )  # fmt: skip

    async def close(self) -> None:
        """Nothing to sign out: the chain's one session outlives this process (§3c)."""


def _with_token(headers: Mapping[str, str] | None, token: str) -> dict[str, str]:
    return {**_ACCEPT, **(headers or {}), "Authorization": f"Bearer {token}"}
