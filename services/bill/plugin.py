"""BILL as the edge and the control plane see it: webhooks, a dev key and login, registrar."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.ap import BillChanged, VendorChanged
from services.bill import webhook
from services.bill.access import FLOW
from services.bill.connection import CREDENTIALS
from services.bill.ping import BillPing
from services.bill.settings import BillSettings
from services.bill.webhook_registration import BillWebhookRegistrar
from services.runtime.settings import load_settings
from services.runtime.vendor_plugin import FlowSink, VendorPlugin, WebhookScheme

__all__ = ["PLUGIN"]


def _settings() -> BillSettings:
    return load_settings(BillSettings)


def _sandbox_settings(url: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    # A BILL connection carries its own dev key and login: only the hosts move.
    return {
        "MLC_BILL_API_BASE_URL": f"{url}/connect",
        "MLC_BILL_EVENTS_BASE_URL": f"{url}/connect-events",
    }


PLUGIN = VendorPlugin(
    name="bill",
    webhook=WebhookScheme(
        vendor="bill",
        verify=webhook.verify,
        delivery_id=webhook.delivery_id,
        content_types=webhook.CONTENT_TYPES,
        secret_headers=webhook.SECRET_HEADERS,
    ),
    credentials=CREDENTIALS,
    key_ping=lambda: BillPing(_settings()),
    registrar=lambda: BillWebhookRegistrar(_settings()),
    sandbox_settings=_sandbox_settings,
    # Vendors first: a bill names one.
    sinks=(FlowSink(FLOW, VendorChanged.topic_name), FlowSink(FLOW, BillChanged.topic_name)),
)
