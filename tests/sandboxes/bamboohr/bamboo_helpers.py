"""Shared constants for the BambooHR sandbox contract tests (values from the default seed)."""

from __future__ import annotations

import httpx

from sandboxes.bamboohr.seed import ADMIN_API_KEY, MANAGER_API_KEY

GATEWAY = "/api/gateway.php/acme/v1"
SUBDOMAIN = "/acme.bamboohr.com/api/v1"
JSON = {"Accept": "application/json"}
ADMIN = httpx.BasicAuth(ADMIN_API_KEY, "x")
MANAGER = httpx.BasicAuth(MANAGER_API_KEY, "anything")
ACTIVE_EMPLOYEE = "108"  # Liam Walsh, Creative, Europe
TERMINATED_EMPLOYEE = "140"  # Ryan Mitchell, terminated 2025-03-28
