"""Registering our webhook at Zoho Books (fact sheet section 9), for the control plane.

``POST {api_domain}/books/v3/settings/webhooks?organization_id=…`` creates a webhook (scope
``ZohoBooks.settings.CREATE``). Unlike the other vendors, Zoho does not hand a secret back:
the creator chooses it (``secret``, 12 to 50 letters and digits), so we generate one and
keep it as the webhook's secret; Zoho signs each delivery with it
(``services/zoho/webhook.py``). The answer carries ``webhook.webhook_id``;
``DELETE .../settings/webhooks/{id}`` removes it (scope ``ZohoBooks.settings.DELETE``).
Books fires webhooks from workflow rules; how ``events`` maps onto them is not documented,
so the entity and events are settings (``MLC_ZOHO_WEBHOOK_ENTITY``, ``_EVENTS``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import httpx

from services.runtime.oauth_tokens import VendorCallError
from services.runtime.vendor_plugin import Registered, VendorAccess
from services.zoho.client import api_path
from services.zoho.settings import ZohoSettings

__all__ = ["ZohoWebhookRegistrar"]

# 40 hex characters: inside Zoho's 12-50 alphanumeric rule, 160 bits.
_SECRET_BYTES = 20
WEBHOOKS = "/books/v3/settings/webhooks"
WEBHOOK = "/books/v3/settings/webhooks/{webhook_id}"


class ZohoWebhookRegistrar:
    """The Zoho Books knowledge behind the runtime's ``WebhookRegistrar``."""

    def __init__(self, settings: ZohoSettings) -> None:
        self._settings = settings

    @staticmethod
    def _where(access: VendorAccess) -> tuple[str, dict[str, str], dict[str, str]]:
        """The API origin (no path), the query every call carries, and the headers."""
        if access.tokens is None:
            msg = "Zoho Books connections need OAuth tokens"
            raise VendorCallError(msg, unauthorized=True)
        api_domain = access.tokens.extra.get("api_domain") or access.settings.get("api_domain")
        organization_id = str(access.settings.get("organization_id", ""))
        if not api_domain or not organization_id:
            msg = "the Zoho connection has no api_domain/organization_id (consent incomplete)"
            raise VendorCallError(msg)
        return (
            str(api_domain).rstrip("/"),
            {"organization_id": organization_id},
            {"Authorization": f"Zoho-oauthtoken {access.tokens.access_token}"},
        )

    async def register(self, http: httpx.AsyncClient, access: VendorAccess, url: str) -> Registered:
        origin, params, headers = self._where(access)
        s = self._settings
        secret = secrets.token_hex(_SECRET_BYTES)
        answer = await http.post(
            origin + WEBHOOKS,
            params=params,
            headers=headers,
            json={
                "webhook_name": s.webhook_name,
                "entity": s.webhook_entity,
                "method": "POST",
                "url": url,
                "body_type": "application/json",
                "events": list(s.webhook_events),
                "secret": secret,
            },
        )
        body = _body(answer)
        if answer.status_code not in (200, 201) or body.get("code", 0) != 0:
            raise _refused(answer, body, "create the webhook")
        webhook_id = str(body["webhook"]["webhook_id"])
        return Registered(webhook_ids=(webhook_id,), secrets={webhook_id: secret})

    async def unregister(
        self, http: httpx.AsyncClient, access: VendorAccess, webhook_ids: Sequence[str]
    ) -> None:
        origin, params, headers = self._where(access)
        # Ids Zoho answered at registration (shape not documented): encoded, not checked, and
        # all before the first DELETE.
        urls = {i: origin + api_path(WEBHOOK, webhook_id=i) for i in webhook_ids}
        for webhook_id, webhook_url in urls.items():
            answer = await http.delete(webhook_url, params=params, headers=headers)
            if answer.status_code == 404:
                continue
            body = _body(answer)
            if answer.status_code != 200 or body.get("code", 0) != 0:
                raise _refused(answer, body, f"delete webhook {webhook_id}")


def _body(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {"message": answer.text[:200]}
    return body if isinstance(body, dict) else {}


def _refused(answer: httpx.Response, body: dict[str, Any], what: str) -> VendorCallError:
    detail = f"code {body.get('code')}: {body.get('message', '')}"
    msg = f"Zoho Books refused to {what} (HTTP {answer.status_code}, {detail})"
    return VendorCallError(msg, unauthorized=answer.status_code == 401)
