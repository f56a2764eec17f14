"""The sandboxes' vendor accounts sized for the fault suite's volume.

Zoho Books rations calls per organization and day by edition: 5,000 for the Professional
organization the dev stack seeds. The full suite makes about 7,000 Zoho calls in an hour
and a half (every figure's hires reach Zoho too, the rotation's 2,000 among them); past the
day's quota Zoho answers code 45 until midnight, and the sink waits for the reset, as it
should (its own tests check that). A figure then measures that wait, not the fault it is
about, so the suite puts the stack's organizations on the Premium edition (10,000 a day)
before it starts. The page says so.
"""

from __future__ import annotations

from typing import Final

import httpx

from devstack.stack import StackInfo

__all__ = ["ZOHO_EDITION", "roomier_vendor_days"]

ZOHO_EDITION: Final = "Premium"


async def roomier_vendor_days(info: StackInfo, http: httpx.AsyncClient) -> list[str]:
    """Raise what the sandboxes' accounts may do in a day; what was changed, in words."""
    zoho = info.sandboxes.get("zoho")
    if zoho is None:
        return []
    listed = await http.get(f"{zoho}/_sandbox/state/organizations")
    listed.raise_for_status()
    organizations = [{**org, "plan_name": ZOHO_EDITION} for org in listed.json()]
    # A seed with the ids the sandbox holds replaces those records.
    seeded = await http.post(f"{zoho}/_sandbox/seed", json={"organizations": organizations})
    seeded.raise_for_status()
    return [
        f"Zoho's organizations are on the {ZOHO_EDITION} edition (10,000 calls a day, not "
        "the seed's Professional 5,000): the suite makes more Zoho calls than a Professional "
        "day allows, and a wait for midnight is not what any figure measures"
    ]
