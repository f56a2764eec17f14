"""``mlc connections ping`` for Acumatica: sign in, read one record, sign out.

Fact sheet section 3a/3b: ``POST {instance}/entity/auth/login`` with ``name``, ``password``,
``tenant`` (and ``branch``) answers 204 and session cookies; a wrong password has been seen
as 500, a licence's login limit as 429. Every session holds one of the licence's API
logins until it is closed or times out (10 minutes), so the ping always signs out.

Before signing in, the ping reads ``GET {instance}/entity`` (no sign-in needed, §2) and
checks that the instance serves the connection's endpoint and version: a version it does
not serve is one clear answer naming the versions it does, not a failed write per
employee later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from services.acumatica.settings import AcumaticaSettings
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.url_paths import UnsafePathSegmentError, url_path

__all__ = ["ENTITY", "AcumaticaPing", "served_check"]

ENTITY = "/entity/{endpoint}/{version}/{entity}"


class AcumaticaPing:
    """The Acumatica knowledge behind the runtime's ``KeyVendor``."""

    def __init__(self, settings: AcumaticaSettings) -> None:
        self._settings = settings

    async def ping_with_credentials(
        self, http: httpx.AsyncClient, secrets: Mapping[str, str], settings: Mapping[str, Any]
    ) -> str:
        base = str(settings.get("base_url", "")).rstrip("/")
        login: dict[str, str] = {
            "name": str(settings.get("username", "")),
            "password": secrets.get("password", ""),
            "tenant": str(settings.get("tenant", "")),
        }
        if settings.get("branch"):
            login["branch"] = str(settings["branch"])
        entity = self._settings.ping_entity
        try:
            # The endpoint and version are typed in by whoever made the connection: each is
            # one encoded segment, checked before the sign-in spends one of the API logins.
            read_url = base + url_path(
                ENTITY,
                endpoint=str(settings.get("endpoint", "")),
                version=str(settings.get("version", "")),
                entity=entity,
            )
        except UnsafePathSegmentError as error:
            msg = f"the Acumatica endpoint, version or entity cannot be a URL path segment: {error}"
            raise VendorCallError(msg) from error
        # The session lives in the client's cookie jar: the client is this ping's alone.
        accept = {"Accept": "application/json"}
        await served_check(
            http, base, str(settings.get("endpoint", "")), str(settings.get("version", ""))
        )
        answer = await http.post(f"{base}/entity/auth/login", json=login, headers=accept)
        if answer.status_code != 204:
            raise _refused(answer)
        try:
            read = await http.get(
                read_url,
                params={"$top": "1", "$select": self._settings.ping_select},
                headers=accept,
            )
            if read.status_code != 200:
                msg = f"Acumatica {entity} answered HTTP {read.status_code}"
                raise VendorCallError(msg, unauthorized=read.status_code == 401)
        finally:
            await http.post(f"{base}/entity/auth/logout", headers=accept)
        return f"Acumatica sign-in ok for tenant {login['tenant']}; {entity} readable"


async def served_check(
    http: httpx.AsyncClient,
    base: str,
    endpoint: str,
    version: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Refuse an endpoint version the instance does not list (a listing it cannot give is
    left to the sign-in and the read that follow)."""
    try:
        answer = await http.get(
            f"{base}/entity", headers={"Accept": "application/json", **(headers or {})}
        )
        listed = answer.json().get("endpoints", []) if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return
    if not isinstance(listed, list):
        return
    served = sorted(f"{e.get('name')}/{e.get('version')}" for e in listed if isinstance(e, Mapping))
    if f"{endpoint}/{version}" not in served:
        msg = (
            f"this Acumatica instance does not serve endpoint {endpoint}/{version}; it serves "
            f"{', '.join(served) or 'none'}: reconnect with one of those"
        )
        raise VendorCallError(msg)


def _refused(answer: httpx.Response) -> VendorCallError:
    text = answer.text[:300]
    try:
        body: Any = answer.json()
        if isinstance(body, dict):
            text = str(body.get("exceptionMessage") or body.get("message") or text)
    except ValueError:
        pass
    if answer.status_code == 429:
        msg = f"Acumatica refused the sign-in: API login limit reached ({text})"
        return VendorCallError(msg)
    # A wrong password is a 500 with "Invalid credentials" (sheet 3a), not a 401.
    unauthorized = answer.status_code in (400, 401, 403) or "credential" in text.lower()
    msg = f"Acumatica refused the sign-in (HTTP {answer.status_code}): {text}"
    return VendorCallError(msg, unauthorized=unauthorized)
