"""A client we did not write: pyZohoAPI (PyPI `pyzohoapi`, MIT) against the sandbox.

pyZohoAPI builds its URLs from a region (`https://www.zohoapis.<tld>/books/v3` and
`https://accounts.zoho.<tld>/oauth/v2`); only those two base URLs are pointed at the sandbox
(the path-prefix form of the same hosts). Everything else is the library as published: its
refresh-token flow, `Zoho-oauthtoken` header, JSON bodies without a content type, trailing
slashes, `page_context` paging and its refresh-and-retry on HTTP 401.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandboxes.zoho.app import ZohoSandbox
from tests.sandboxes.sandbox_harness import run_over_socket
from tests.sandboxes.zoho.zoho_helpers import LIAM, sign_in

pyzohoapi = pytest.importorskip("pyzohoapi", reason="missing optional dependency: pyzohoapi (dev)")


def _books(origin: str, session_credentials: dict[str, Any], refresh_token: str) -> Any:
    books = pyzohoapi.ZohoBooks(
        session_credentials["organization_id"],
        region="eu",
        client_id=session_credentials["client_id"],
        client_secret=session_credentials["client_secret"],
        refresh_token=refresh_token,
        redirect_url=session_credentials["redirect_uri"],
    )
    # The only change: the base URLs (the real hosts, as path prefixes on the sandbox).
    books._endpoint = f"{origin}/www.zohoapis.eu/books/v3"
    books._oauth = f"{origin}/accounts.zoho.eu/oauth/v2"
    return books


async def test_pyzohoapi_reads_creates_updates_deactivates_and_deletes_contacts() -> None:
    async with run_over_socket(ZohoSandbox()) as client:
        session = await sign_in(client)
        assert session.refresh_token is not None
        origin = str(client.base_url).rstrip("/")
        books = _books(origin, session.credentials, session.refresh_token)

        def story() -> dict[str, Any]:
            liam = books.Contact(email=LIAM).First()
            new = books.Contact()
            new.contact_name = "PyZohoAPI Client Ltd"
            new.contact_type = "customer"
            new.Create()
            created_id = new.ID
            new.notes = "updated through pyzohoapi"
            new.Update()
            deactivated = new.Deactivate()
            reread = books.Contact(created_id)
            names = [c["contact_name"] for c in books.Contact().Iter(raw=True)]
            deleted = reread.Delete().IsDeleted
            return {
                "liam": liam.contact_name,
                "liam_person": liam.contact_persons[0].email,
                "id": created_id,
                "notes": reread.notes,
                "status": reread.status,
                "deactivated": deactivated,
                "names": names,
                "deleted": deleted,
            }

        result = await asyncio.to_thread(story)
        assert result["liam"] == "Liam Walsh"
        assert result["liam_person"] == LIAM
        assert result["id"].isdigit()
        assert result["notes"] == "updated through pyzohoapi"
        assert (result["deactivated"], result["status"]) == (True, "inactive")
        assert "PyZohoAPI Client Ltd" in result["names"]
        assert len(result["names"]) == 16
        assert result["deleted"] is True
        log = (await client.get("/_sandbox/requests")).json()
        assert any(e["path"] == "/accounts.zoho.eu/oauth/v2/token" for e in log)


async def test_pyzohoapi_recovers_from_an_expired_token_by_refreshing() -> None:
    async with run_over_socket(ZohoSandbox()) as client:
        session = await sign_in(client)
        assert session.refresh_token is not None
        books = _books(str(client.base_url).rstrip("/"), session.credentials, session.refresh_token)
        first = await asyncio.to_thread(lambda: books.Contact(email=LIAM).First().contact_id)
        # The library still believes its token is fresh; the sandbox clock says otherwise.
        await client.post("/_sandbox/clock", json={"advance_seconds": 3601})
        second = await asyncio.to_thread(lambda: books.Contact(email=LIAM).First().contact_id)
        assert first == second
        statuses = [e["status"] for e in (await client.get("/_sandbox/requests")).json()]
        assert 401 in statuses
