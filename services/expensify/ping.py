"""``mlc connections ping`` for Expensify: the policy list job (fact sheet section 6).

Every job is a form post of ``requestJobDescription`` (JSON) to the one endpoint; the HTTP
status is 200 even for failures, so the verdict is the body's ``responseCode``. The ping
also says whether the connection's ``policy_id`` is among the policies the credentials see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from services.expensify.settings import ExpensifySettings
from services.runtime.oauth_tokens import VendorCallError

__all__ = ["ExpensifyPing"]


class ExpensifyPing:
    """The Expensify knowledge behind the runtime's ``KeyVendor``."""

    def __init__(self, settings: ExpensifySettings) -> None:
        self._settings = settings

    async def ping_with_credentials(
        self, http: httpx.AsyncClient, secrets: Mapping[str, str], settings: Mapping[str, Any]
    ) -> str:
        job = {
            "type": "get",
            "credentials": {
                "partnerUserID": str(settings.get("partner_user_id", "")),
                "partnerUserSecret": secrets.get("partner_user_secret", ""),
            },
            "inputSettings": {"type": "policyList"},
        }
        answer = await http.post(
            self._settings.integration_url,
            data={"requestJobDescription": orjson.dumps(job).decode()},
        )
        try:
            body: Any = answer.json()
        except ValueError:
            msg = f"Expensify answered HTTP {answer.status_code} without JSON"
            raise VendorCallError(msg) from None
        code = body.get("responseCode") if isinstance(body, dict) else None
        if code != 200:
            message = body.get("responseMessage", "") if isinstance(body, dict) else ""
            msg = f"Expensify refused the policy list (responseCode {code}: {message})"
            raise VendorCallError(msg, unauthorized=code in self._settings.auth_error_codes)
        policies = [str(p.get("id")) for p in body.get("policyList") or []]
        wanted = str(settings.get("policy_id", ""))
        if wanted and wanted not in policies:
            msg = f"the credentials do not see policy {wanted} (they see {len(policies)})"
            raise VendorCallError(msg)
        return f"Expensify policy list answered with {len(policies)} policies, {wanted} among them"
