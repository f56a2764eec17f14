"""BambooHR read calls used to check a connection (``mlc connections ping``)."""

from __future__ import annotations

import httpx

from services.runtime.oauth_tokens import VendorCallError

__all__ = ["ping_directory"]


async def ping_directory(http: httpx.AsyncClient, company_url: str, authorization: str) -> str:
    """Read the employee directory; the verdict detail counts who is in it.

    ``authorization`` is the whole header value: ``Bearer <token>`` or ``Basic <key:x>``.
    """
    answer = await http.get(
        f"{company_url}/api/v1/employees/directory",
        # Older endpoints answer XML unless JSON is asked for.
        headers={"Authorization": authorization, "Accept": "application/json"},
    )
    # 403 too: repeated unknown API keys make BambooHR refuse the company's API for a while.
    if answer.status_code in (401, 403):
        msg = f"BambooHR refused our credentials (HTTP {answer.status_code})"
        raise VendorCallError(msg, unauthorized=True)
    if answer.status_code != 200:
        msg = f"BambooHR employees/directory answered HTTP {answer.status_code}"
        raise VendorCallError(msg)
    employees = answer.json().get("employees", [])
    return f"BambooHR directory answered with {len(employees)} employees"
