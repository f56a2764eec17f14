"""Zoho Books read calls used to check a connection and to find its organization."""

from __future__ import annotations

from typing import Any

import httpx

from services.runtime.oauth_tokens import VendorCallError

__all__ = ["books_get"]


async def books_get(
    http: httpx.AsyncClient,
    api_domain: str,
    path: str,
    access_token: str,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """GET ``{api_domain}/books/v3{path}``; Zoho's own header, errors as VendorCallError."""
    answer = await http.get(
        f"{api_domain}/books/v3{path}",
        params=params,
        headers={"Authorization": f"Zoho-oauthtoken {access_token}"},
    )
    if answer.status_code == 401:
        msg = "Zoho refused the access token (HTTP 401)"
        raise VendorCallError(msg, unauthorized=True)
    if answer.status_code != 200:
        msg = f"Zoho Books {path} answered HTTP {answer.status_code}: {answer.text[:200]}"
        raise VendorCallError(msg)
    body: dict[str, Any] = answer.json()
    return body
