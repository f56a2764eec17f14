"""Registering our webhook at BambooHR (fact sheet section 11), for the control plane.

``POST /api/v1/webhooks`` with the event-based family and the monitored fields answers 201
with the webhook's ``id`` and its ``privateKey``, shown this once: it is the HMAC key of
every delivery (``services/bamboohr/webhook.py``). ``DELETE /api/v1/webhooks/{id}`` removes
it (404 = already gone). The webhook is owned by whoever created it (a permissioned
webhook), so the same connection's credentials are used to delete it. BambooHR wants an
``https://`` URL: set ``MLC_PUBLIC_URL`` to the https address the vendor reaches us on.

Authorization: an OAuth connection's access token (scope ``webhooks.write``, which
``MLC_BAMBOOHR_SCOPE`` must include), or an API-key connection's key as the Basic user.

What it asks for is in ``settings.py`` (``MLC_BAMBOOHR_WEBHOOK_EVENTS``, ``_MONITOR_FIELDS``,
``_NAME``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import httpx

from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.client import api_path
from services.bamboohr.settings import BambooHRSettings
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.vendor_plugin import Registered, VendorAccess

__all__ = ["BambooHRWebhookRegistrar"]

WEBHOOK = "/api/v1/webhooks/{webhook_id}"


class BambooHRWebhookRegistrar:
    """The BambooHR knowledge behind the runtime's ``WebhookRegistrar``."""

    def __init__(self, settings: BambooHRSettings) -> None:
        self._settings = settings
        self._auth = BambooHRAuth(settings)

    def _company_and_header(self, access: VendorAccess) -> tuple[str, str]:
        if access.tokens is not None:
            return access.tokens.extra["company_url"], f"Bearer {access.tokens.access_token}"
        subdomain = access.settings.get("company_domain") or access.settings.get("subdomain", "")
        key = access.secrets.get("api_key", "")
        basic = base64.b64encode(f"{key}:x".encode()).decode()
        try:
            # company_url refuses a subdomain that is not a host label (it becomes our host).
            company_url = self._auth.company_url({"subdomain": subdomain})
        except ValueError as error:
            raise VendorCallError(str(error)) from error
        return company_url, f"Basic {basic}"

    async def register(self, http: httpx.AsyncClient, access: VendorAccess, url: str) -> Registered:
        company_url, authorization = self._company_and_header(access)
        s = self._settings
        body: dict[str, Any] = {
            "name": s.webhook_name,
            "url": url,
            "format": "json",
            "events": list(s.webhook_events),
            "monitorFields": list(s.webhook_monitor_fields),
        }
        answer = await http.post(
            f"{company_url}/api/v1/webhooks",
            json=body,
            headers={"Authorization": authorization, "Accept": "application/json"},
        )
        if answer.status_code != 201:
            msg = f"BambooHR refused the webhook (HTTP {answer.status_code}): {_errors(answer)}"
            raise VendorCallError(msg, unauthorized=answer.status_code == 401)
        created = answer.json()
        webhook_id = str(created["id"])
        return Registered(webhook_ids=(webhook_id,), secrets={webhook_id: created["privateKey"]})

    async def unregister(
        self, http: httpx.AsyncClient, access: VendorAccess, webhook_ids: Sequence[str]
    ) -> None:
        company_url, authorization = self._company_and_header(access)
        # Ids BambooHR answered at registration; its id shape is not documented, so each one
        # is only encoded, all before the first DELETE.
        urls = {i: company_url + api_path(WEBHOOK, webhook_id=i) for i in webhook_ids}
        for webhook_id, webhook_url in urls.items():
            answer = await http.delete(
                webhook_url,
                headers={"Authorization": authorization, "Accept": "application/json"},
            )
            if answer.status_code not in (200, 204, 404):
                msg = f"BambooHR did not delete webhook {webhook_id} (HTTP {answer.status_code})"
                raise VendorCallError(msg, unauthorized=answer.status_code == 401)


def _errors(answer: httpx.Response) -> str:
    """The webhook API's error text: ``{"errors": [{"error": ..., "issues": [...]}]}``."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):
        errors = [errors]
    parts: list[str] = []
    for error in errors or []:
        if isinstance(error, dict):
            parts.append(str(error.get("error", "")))
            parts.extend(str(issue) for issue in error.get("issues") or [])
    return "; ".join(p for p in parts if p) or answer.text[:200]
