"""The one list of vendors: each ``services/<vendor>/plugin.py``'s plugin, in catalog order.

Everything that needs to know which vendors exist asks here: the edge (webhook schemes,
replay windows), the control plane (OAuth, key credentials and pings, webhook registrars),
the topic catalog (``raw.<vendor>``, ``dlq.<service>``) and the local stack (sandbox
settings). Adding a vendor is its folder with a ``plugin.py`` and one entry below; a test
(``tests/unit/test_import_graph.py``) fails if a second list of vendors appears.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from schemas.topics import Topic, catalog
from services.acumatica.plugin import PLUGIN as ACUMATICA
from services.bamboohr.plugin import PLUGIN as BAMBOOHR
from services.bill.plugin import PLUGIN as BILL
from services.expensify.plugin import PLUGIN as EXPENSIFY
from services.freshbooks.plugin import PLUGIN as FRESHBOOKS
from services.runtime.credential_fields import CredentialSpec
from services.runtime.vendor_plugin import (
    KeyVendor,
    OAuthVendor,
    VendorPlugin,
    WebhookRegistrar,
    WebhookScheme,
)
from services.zoho.plugin import PLUGIN as ZOHO

__all__ = [
    "PLUGINS",
    "SERVICES",
    "TOPICS",
    "VENDORS",
    "credential_specs",
    "flow_sinks",
    "key_vendors",
    "oauth_vendors",
    "registrars",
    "replay_windows",
    "sandbox_settings",
    "vendor_schedules",
    "webhook_schemes",
]

PLUGINS: Final[tuple[VendorPlugin, ...]] = (BAMBOOHR, FRESHBOOKS, BILL, ZOHO, ACUMATICA, EXPENSIFY)

VENDORS: Final[tuple[str, ...]] = tuple(plugin.name for plugin in PLUGINS)
"""Vendor names as in URLs, ``raw.<vendor>`` and ``connections.vendor``."""

SERVICES: Final[tuple[str, ...]] = ("ingest", *VENDORS)
"""Services that consume and may dead-letter messages (one ``dlq.<service>`` each)."""

TOPICS: Final[tuple[Topic, ...]] = catalog(vendors=VENDORS, services=SERVICES)
"""The whole topic catalog: the vendors' raw topics, the shared ones, the dead letters."""

_BY_NAME: Final[Mapping[str, VendorPlugin]] = {plugin.name: plugin for plugin in PLUGINS}


def plugin(vendor: str) -> VendorPlugin:
    """The plugin of ``vendor``; an unknown name is a KeyError naming the known ones."""
    try:
        return _BY_NAME[vendor]
    except KeyError:
        msg = f"unknown vendor {vendor!r}; known: {', '.join(VENDORS)}"
        raise KeyError(msg) from None


def webhook_schemes() -> dict[str, WebhookScheme]:
    """Vendors whose webhooks the edge accepts -> how they are verified."""
    return {p.name: p.webhook for p in PLUGINS if p.webhook is not None}


def replay_windows() -> dict[str, float]:
    """Vendors whose signed timestamps need their own window -> seconds (reads settings)."""
    return {p.name: p.replay_window_seconds() for p in PLUGINS if p.replay_window_seconds}


def oauth_vendors() -> dict[str, OAuthVendor]:
    """Vendors connected through OAuth consent -> their knowledge (reads settings)."""
    return {p.name: p.oauth() for p in PLUGINS if p.oauth is not None}


def key_vendors() -> dict[str, KeyVendor]:
    """Vendors connected with keys or passwords -> their ping (reads settings)."""
    return {p.name: p.key_ping() for p in PLUGINS if p.key_ping is not None}


def credential_specs() -> dict[str, CredentialSpec]:
    """Vendors connected with keys or passwords -> the fields such a connection holds."""
    return {p.name: p.credentials for p in PLUGINS if p.credentials is not None}


def registrars() -> dict[str, WebhookRegistrar]:
    """Vendors whose webhooks ml-connector registers -> their registrar (reads settings)."""
    return {p.name: p.registrar() for p in PLUGINS if p.registrar is not None}


def vendor_schedules() -> dict[str, tuple[Mapping[str, Any], ...]]:
    """Vendors whose connections get schedules of their own -> those schedules."""
    return {p.name: p.schedules for p in PLUGINS if p.schedules}


def flow_sinks() -> dict[str, list[tuple[str, str]]]:
    """Flow -> the (service, topic) of each sink that writes its links, in replay order."""
    found: dict[str, list[tuple[str, str]]] = {}
    for vendor in PLUGINS:
        for sink in vendor.sinks:
            found.setdefault(sink.flow, []).append((vendor.name, sink.topic))
    return found


def sandbox_settings(
    sandboxes: Mapping[str, str], credentials: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """``MLC_*`` variables pointing every vendor with a running sandbox at it.

    ``sandboxes`` is vendor -> the sandbox's base URL, ``credentials`` vendor -> its test
    app's credentials (``POST /_sandbox/credentials``).
    """
    settings: dict[str, str] = {}
    for p in PLUGINS:
        if p.sandbox_settings is not None and p.name in sandboxes:
            settings |= p.sandbox_settings(sandboxes[p.name], credentials.get(p.name, {}))
    return settings
