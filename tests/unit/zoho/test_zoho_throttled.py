"""Zoho's rate-limit answers are throttling (waited out in place); its 5xx are not."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from services.runtime.outages import is_throttled
from services.zoho.client import ZohoThrottledError, ZohoUnavailableError, refusal


def test_zoho_says_throttled_for_its_rate_limits_and_unavailable_for_its_5xx() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    per_minute = httpx.Response(429, json={"code": 44, "message": "too many requests"})
    broken = httpx.Response(502, text="bad gateway")
    assert isinstance(refusal("list contacts", per_minute, now=now), ZohoThrottledError)
    down = refusal("list contacts", broken, now=now)
    assert isinstance(down, ZohoUnavailableError)
    assert not is_throttled(down)
