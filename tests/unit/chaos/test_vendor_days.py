"""The fault suite puts the Zoho sandbox's organizations on an edition with room for it."""

from __future__ import annotations

import httpx

from chaos.vendor_days import ZOHO_EDITION, roomier_vendor_days
from devstack.stack import StackInfo
from sandboxes.kit import build_app, serve
from sandboxes.zoho.app import ZohoSandbox


async def test_every_zoho_organization_gets_the_roomier_edition_and_the_page_is_told() -> None:
    async with serve(build_app(ZohoSandbox())) as zoho, httpx.AsyncClient() as http:
        before = (await http.get(f"{zoho.base_url}/_sandbox/state/organizations")).json()
        info = StackInfo(kafka="", ingest="", operator_token="", sandboxes={"zoho": zoho.base_url})
        said = await roomier_vendor_days(info, http)
        after = (await http.get(f"{zoho.base_url}/_sandbox/state/organizations")).json()

    assert {org["plan_name"] for org in before} != {ZOHO_EDITION}
    assert sorted(org["organization_id"] for org in after) == sorted(
        org["organization_id"] for org in before
    )  # replaced, not added
    assert {org["plan_name"] for org in after} == {ZOHO_EDITION}
    assert len(said) == 1
    assert "10,000 calls a day" in said[0]


async def test_a_stack_without_zoho_is_left_alone() -> None:
    async with httpx.AsyncClient() as http:
        info = StackInfo(kafka="", ingest="", operator_token="", sandboxes={"bill": "http://x"})
        assert await roomier_vendor_days(info, http) == []
