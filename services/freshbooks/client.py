"""FreshBooks read calls used to check a connection (``mlc connections ping``)."""

from __future__ import annotations

from typing import Final

import httpx

from services.runtime.oauth_tokens import VendorCallError

__all__ = ["USERS_ME", "ping_users_me"]

USERS_ME: Final = "/auth/api/v1/users/me"


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
