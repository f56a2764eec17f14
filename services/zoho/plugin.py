"""Zoho Books as the edge and the control plane see it: webhooks, OAuth, registrar."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from schemas.people import DepartmentChanged, EmployeeChanged
from services.runtime.settings import load_settings
from services.runtime.vendor_plugin import FlowSink, VendorPlugin, WebhookScheme
from services.zoho import webhook
from services.zoho.access import FLOW
from services.zoho.auth import ZohoOAuth
from services.zoho.settings import ZohoSettings
from services.zoho.webhook_registration import ZohoWebhookRegistrar

__all__ = ["LINKS_SCHEDULE", "PLUGIN"]

LINKS_SCHEDULE: Final = "links"
"""Every Zoho connection's per-minute schedule: its ticks run the links that are due."""


def _settings() -> ZohoSettings:
    return load_settings(ZohoSettings)


def _sandbox_settings(url: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    return {
        "MLC_ZOHO_ACCOUNTS_BASE_URL": f"{url}/accounts.zoho.com",
        "MLC_ZOHO_TRUSTED_ACCOUNTS_SERVERS": orjson.dumps([f"{url}/accounts.zoho."]).decode(),
        "MLC_ZOHO_TRUSTED_API_DOMAINS": orjson.dumps([f"{url}/www.zohoapis."]).decode(),
        "MLC_ZOHO_CLIENT_ID": str(credentials["client_id"]),
        "MLC_ZOHO_CLIENT_SECRET": str(credentials["client_secret"]),
        "MLC_ZOHO_REDIRECT_URI": str(credentials["redirect_uri"]),
    }


PLUGIN = VendorPlugin(
    name="zoho",
    webhook=WebhookScheme(
        vendor="zoho",
        verify=webhook.verify,
        delivery_id=webhook.delivery_id,
        content_types=webhook.CONTENT_TYPES,
        secret_headers=webhook.SECRET_HEADERS,
    ),
    oauth=lambda: ZohoOAuth(_settings()),
    registrar=lambda: ZohoWebhookRegistrar(_settings()),
    sandbox_settings=_sandbox_settings,
    # Each link's reconcile interval is its own (services/zoho/source.py): this tick only
    # asks, every minute, which links are due. A tick with none due makes no call.
    schedules=({"name": LINKS_SCHEDULE, "kind": "reconcile", "every_seconds": 60},),
    # Lists first: a contact is tagged with its department.
    sinks=(
        FlowSink(FLOW, DepartmentChanged.topic_name),
        FlowSink(FLOW, EmployeeChanged.topic_name),
    ),
)
