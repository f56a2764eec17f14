"""The official FreshBooks Python SDK (a client we did not write) drives the sandbox over a
real socket with only its base URLs changed (the SDK's own FRESHBOOKS_API_URL/AUTH_URL)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.freshbooks.seed import ACCOUNT_ID, BUSINESS_UUID
from tests.sandboxes.freshbooks.fb_helpers import credentials
from tests.sandboxes.sandbox_harness import run_over_socket

freshbooks = pytest.importorskip(
    "freshbooks", reason="missing optional dependency: freshbooks-sdk (dev)"
)


async def test_the_sdk_authorises_reads_creates_deletes_and_refreshes_with_rotation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with run_over_socket(FreshBooksSandbox()) as client:
        monkeypatch.setenv("FRESHBOOKS_API_URL", str(client.base_url).rstrip("/"))
        monkeypatch.setenv("FRESHBOOKS_AUTH_URL", str(client.base_url).rstrip("/"))
        creds = await credentials(client)
        sdk = freshbooks.Client(
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            redirect_uri=creds["redirect_uri"],
        )
        consent = await client.get(sdk.get_auth_request_url(scopes=None))
        assert consent.status_code == 302
        code = httpx.URL(consent.headers["location"]).params["code"]

        def drive() -> dict[str, Any]:
            from freshbooks.builders.filter import FilterBuilder  # noqa: PLC0415 - skip-guarded
            from freshbooks.builders.paginator import PaginateBuilder  # noqa: PLC0415

            first = sdk.get_access_token(code)
            identity = sdk.current_user()
            paged = sdk.expenses.list(
                ACCOUNT_ID, builders=[PaginateBuilder(1, 2), FilterBuilder().equals("staffid", 1)]
            )
            created = sdk.expenses.create(
                ACCOUNT_ID,
                {"amount": {"amount": "84.20", "code": "USD"}, "categoryid": 3026,
                 "staffid": 2, "date": "2026-03-02", "vendor": "Air Canada"},
            )  # fmt: skip
            deleted = sdk.expenses.delete(ACCOUNT_ID, created.id)
            categories = sdk.expenses_categories.list(
                ACCOUNT_ID, builders=[PaginateBuilder(1, 100)]
            )
            ledger = sdk.ledger_accounts.list(BUSINESS_UUID)
            spent = first.refresh_token
            second = sdk.refresh_access_token()
            error: Exception | None = None
            try:
                sdk.refresh_access_token(spent)
            except freshbooks.FreshBooksError as exc:
                error = exc
            return {
                "first": first,
                "identity": identity,
                "paged": paged,
                "created": created,
                "deleted": deleted,
                "categories": categories,
                "ledger": ledger,
                "second": second,
                "error": error,
            }

        out = await asyncio.to_thread(drive)
        identity = out["identity"]
        assert identity.identity_id == 90210
        assert identity.business_memberships[0].business.account_id == ACCOUNT_ID
        paged = out["paged"]
        assert (paged.pages.page, paged.pages.per_page, paged.pages.total) == (1, 2, 1)
        assert paged[0].amount.amount == "412.60"  # string amounts, as FreshBooks sends them
        created = out["created"]
        assert created.vendor == "Air Canada"
        assert out["deleted"].vis_state == 1
        assert out["categories"].pages.total == 33
        assert len(out["ledger"]) == 26
        first, second = out["first"], out["second"]
        assert second.refresh_token != first.refresh_token
        assert (second.access_token_expires_at - first.access_token_expires_at).total_seconds() >= 0
        error = out["error"]
        assert isinstance(error, freshbooks.FreshBooksError)
        assert error.status_code == 400
