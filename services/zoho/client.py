"""Zoho Books read calls used to check a connection and to find its organization."""

from __future__ import annotations

from typing import Any

import httpx

from services.runtime.oauth_tokens import VendorCallError
from services.runtime.url_paths import vendor_url_path

__all__ = ["api_path", "books_get"]


def api_path(template: str, **values: str | int) -> str:
    """``url_path`` for Zoho Books calls: an unsafe value is a vendor-call error, nothing sent."""
    return vendor_url_path("Zoho Books", template, values)


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
