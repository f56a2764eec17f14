"""``mlc connections ping`` for BILL: log in, read one vendor, log out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from services.bill.session import bill_error, logged_in
from services.bill.settings import BillSettings

__all__ = ["BillPing"]


class BillPing:
    """The BILL knowledge behind the runtime's ``KeyVendor``."""

    def __init__(self, settings: BillSettings) -> None:
        self._settings = settings

    async def ping_with_credentials(
        self, http: httpx.AsyncClient, secrets: Mapping[str, str], settings: Mapping[str, Any]
    ) -> str:
        async with logged_in(http, self._settings, secrets, settings) as session:
            answer = await http.get(
                f"{self._settings.api_base_url}/v3/vendors",
                params={"max": "1"},
                headers=session.headers,
            )
            if answer.status_code != 200:
                raise bill_error(answer, "list vendors")
        return f"BILL login ok for organization {session.organization_id}; vendors readable"
