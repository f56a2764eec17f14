"""Registering our webhook subscription at BILL (fact sheet section 11).

``POST {events base}/v3/subscriptions`` (headers ``devKey``, ``sessionId`` and a fresh
``X-Idempotent-Key`` UUID4, which BILL requires) with ``name``, ``status.enabled``, the
event types and ``notificationUrl`` (https only) answers 200 with the subscription ``id``
and its ``securityKey``, shown once: the HMAC key of every notification
(``services/bill/webhook.py``). ``DELETE /v3/subscriptions/{id}`` removes it (404 = gone).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import httpx

from services.bill.session import api_path, bill_error, logged_in
from services.bill.settings import BillSettings
from services.runtime.vendor_plugin import Registered, VendorAccess

__all__ = ["BillWebhookRegistrar"]

SUBSCRIPTION = "/v3/subscriptions/{subscription_id}"


class BillWebhookRegistrar:
    """The BILL knowledge behind the runtime's ``WebhookRegistrar``."""

    def __init__(self, settings: BillSettings) -> None:
        self._settings = settings

    async def register(self, http: httpx.AsyncClient, access: VendorAccess, url: str) -> Registered:
        s = self._settings
        async with logged_in(http, s, access.secrets, access.settings) as session:
            answer = await http.post(
                f"{s.events_base_url}/v3/subscriptions",
                json={
                    "name": s.webhook_name,
                    "status": {"enabled": True},
                    "events": [
                        {"type": event, "version": s.webhook_event_version}
                        for event in s.webhook_events
                    ],
                    "notificationUrl": url,
                },
                headers={**session.headers, "X-Idempotent-Key": str(uuid.uuid4())},
            )
        if answer.status_code != 200:
            raise bill_error(answer, "create the subscription")
        created = answer.json()
        subscription_id = str(created["id"])
        return Registered(
            webhook_ids=(subscription_id,), secrets={subscription_id: created["securityKey"]}
        )

    async def unregister(
        self, http: httpx.AsyncClient, access: VendorAccess, webhook_ids: Sequence[str]
    ) -> None:
        s = self._settings
        # Ids BILL answered ("sub-uuid" in the sheet, shape not promised): encoded, not
        # checked, and all before logging in, so a bad one costs no session.
        urls = {
            i: s.events_base_url + api_path(SUBSCRIPTION, subscription_id=i) for i in webhook_ids
        }
        async with logged_in(http, s, access.secrets, access.settings) as session:
            for subscription_id, subscription_url in urls.items():
                answer = await http.delete(subscription_url, headers=session.headers)
                if answer.status_code not in (200, 204, 404):
                    raise bill_error(answer, f"delete subscription {subscription_id}")
