"""FreshBooks as the edge and the control plane see it: webhooks with a verification
handshake, OAuth, and the registrar that also confirms the handshake."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.ap import BillPaid
from schemas.expense import ExpenseReportApproved
from schemas.people import EmployeeChanged
from services.freshbooks import webhook
from services.freshbooks.access import AP_FLOW, EXPENSES_FLOW, FLOW
from services.freshbooks.auth import FreshBooksOAuth
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.webhook_registration import FreshBooksWebhookRegistrar
from services.runtime.settings import load_settings
from services.runtime.vendor_plugin import FlowSink, Handshake, VendorPlugin, WebhookScheme

__all__ = ["PLUGIN"]


def _settings() -> FreshBooksSettings:
    return load_settings(FreshBooksSettings)


def _handshake(body: bytes, headers: Mapping[str, str]) -> Handshake | None:
    found = webhook.handshake(body, headers)
    return None if found is None else Handshake(found.verifier, found.callback_id)


def _sandbox_settings(url: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    return {
        "MLC_FRESHBOOKS_AUTH_BASE_URL": url,
        "MLC_FRESHBOOKS_API_BASE_URL": url,
        "MLC_FRESHBOOKS_CLIENT_ID": str(credentials["client_id"]),
        "MLC_FRESHBOOKS_CLIENT_SECRET": str(credentials["client_secret"]),
        "MLC_FRESHBOOKS_REDIRECT_URI": str(credentials["redirect_uri"]),
    }


PLUGIN = VendorPlugin(
    name="freshbooks",
    webhook=WebhookScheme(
        vendor="freshbooks",
        verify=webhook.verify,
        delivery_id=webhook.delivery_id,
        content_types=webhook.CONTENT_TYPES,
        secret_headers=webhook.SECRET_HEADERS,
        handshake=_handshake,
    ),
    oauth=lambda: FreshBooksOAuth(_settings()),
    registrar=lambda: FreshBooksWebhookRegistrar(_settings()),
    sandbox_settings=_sandbox_settings,
    sinks=(
        FlowSink(FLOW, EmployeeChanged.topic_name),
        FlowSink(AP_FLOW, BillPaid.topic_name),
        FlowSink(EXPENSES_FLOW, ExpenseReportApproved.topic_name),
    ),
)
