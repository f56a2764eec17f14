"""Expensify as the control plane sees it: partner credentials and their ping (polled only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from services.expensify.connection import CREDENTIALS
from services.expensify.ping import ExpensifyPing
from services.expensify.settings import ExpensifySettings
from services.runtime.settings import load_settings
from services.runtime.vendor_plugin import VendorPlugin

__all__ = ["LINKS_SCHEDULE", "PLUGIN"]

LINKS_SCHEDULE: Final = "links"


def _sandbox_settings(url: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    return {"MLC_EXPENSIFY_INTEGRATION_URL": f"{url}/Integration-Server/ExpensifyIntegrations"}


PLUGIN = VendorPlugin(
    name="expensify",
    credentials=CREDENTIALS,
    key_ping=lambda: ExpensifyPing(load_settings(ExpensifySettings)),
    sandbox_settings=_sandbox_settings,
    # Each link polls on its own schedule (``schedule.py``); this tick asks which are due.
    schedules=({"name": LINKS_SCHEDULE, "kind": "poll", "every_seconds": 60},),
)
