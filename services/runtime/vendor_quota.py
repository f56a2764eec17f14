"""A vendor's call quota of one connection, as last seen: written by its service, read by status.

Vendors that ration calls per day (Zoho Books' daily quota per organisation) tell how much
is left on every answer. The vendor service keeps the newest figures here, one row per
connection (the watermarks table, under service :data:`QUOTA_SERVICE`), so ``mlc status``
can show them without knowing the vendor, and a replica that starts late knows at once
whether the day's quota is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import orjson

from services.runtime.store import Repositories

__all__ = ["QUOTA_SERVICE", "VendorQuota", "read_quota", "record_quota"]

QUOTA_SERVICE: Final = "vendor_quota"
"""The watermarks table's service column for quota rows (any vendor)."""
_DAILY: Final = "daily"


@dataclass(frozen=True, slots=True)
class VendorQuota:
    """How many calls the window allows, how many are left, and when it starts again."""

    limit: int
    remaining: int
    resets_at: datetime
    observed_at: datetime

    @property
    def used(self) -> int:
        return max(self.limit - self.remaining, 0)

    def spent(self, *, reserve: int, now: datetime) -> bool:
        """At or below ``reserve`` calls left, and the window not over yet."""
        return self.remaining <= reserve and now < self.resets_at

    def as_json(self) -> dict[str, object]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "resets_at": self.resets_at.isoformat(),
            "observed_at": self.observed_at.isoformat(),
        }


async def record_quota(repos: Repositories, connection_id: str, quota: VendorQuota) -> None:
    """Keep ``quota`` as the connection's newest; an older observation never overwrites it."""
    known = await read_quota(repos, connection_id)
    if known is not None and known.observed_at > quota.observed_at:
        return
    await repos.watermarks.set(
        QUOTA_SERVICE, connection_id, _DAILY, orjson.dumps(quota.as_json()).decode()
    )


async def read_quota(repos: Repositories, connection_id: str) -> VendorQuota | None:
    """The connection's newest quota figures, or None when its vendor never sent any."""
    text = await repos.watermarks.get(QUOTA_SERVICE, connection_id, _DAILY)
    if text is None:
        return None
    try:
        raw = orjson.loads(text)
        return VendorQuota(
            limit=int(raw["limit"]),
            remaining=int(raw["remaining"]),
            resets_at=datetime.fromisoformat(raw["resets_at"]),
            observed_at=datetime.fromisoformat(raw["observed_at"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None  # a row we cannot read is no figure, not an outage of status
