"""BambooHR as the edge and the control plane see it: webhooks, OAuth or an API key, registrar."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.people import DepartmentChanged
from services.bamboohr import webhook
from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.connection import CREDENTIALS
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.webhook_registration import BambooHRWebhookRegistrar
from services.runtime.settings import load_settings
from services.runtime.vendor_plugin import FlowSink, VendorPlugin, WebhookScheme

__all__ = ["PLUGIN"]


def _settings() -> BambooHRSettings:
    return load_settings(BambooHRSettings)


def _replay_window_seconds() -> float:
    # BambooHR re-sends a failed delivery for 155 minutes (docs/ingest.md): the edge's
    # 5-minute default would refuse its retries as stale.
    return _settings().webhook_replay_window_seconds


def _sandbox_settings(url: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    return {
        "MLC_BAMBOOHR_COMPANY_URL_TEMPLATE": f"{url}/{{subdomain}}.bamboohr.com",
        "MLC_BAMBOOHR_CLIENT_ID": str(credentials["client_id"]),
        "MLC_BAMBOOHR_CLIENT_SECRET": str(credentials["client_secret"]),
        "MLC_BAMBOOHR_REDIRECT_URI": str(credentials["redirect_uri"]),
        # The default scope plus webhooks.write, so the control plane can register the webhook.
        "MLC_BAMBOOHR_SCOPE": f"{BambooHRSettings.model_fields['scope'].default} webhooks.write",
    }


PLUGIN = VendorPlugin(
    name="bamboohr",
    webhook=WebhookScheme(
        vendor="bamboohr",
        verify=webhook.verify,
        delivery_id=webhook.delivery_id,
        content_types=webhook.CONTENT_TYPES,
        secret_headers=webhook.SECRET_HEADERS,
    ),
    replay_window_seconds=_replay_window_seconds,
    oauth=lambda: BambooHRAuth(_settings()),
    credentials=CREDENTIALS,
    key_ping=lambda: BambooHRAuth(_settings()),
    registrar=lambda: BambooHRWebhookRegistrar(_settings()),
    sandbox_settings=_sandbox_settings,
    # The other end's lists aligned back into BambooHR's (services/runtime/option_lists.py):
    # of today's flows only people-zoho's target publishes lists.
    sinks=(FlowSink("people-zoho", DepartmentChanged.topic_name),),
)
