"""BILL, Zoho Books and Acumatica: values reach a URL only as one encoded segment each.

Companion of the FreshBooks and BambooHR cases (issue 10, defect 1). The vendor is an
``httpx.MockTransport`` recording every request: what matters is what would have left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from services.acumatica.ping import AcumaticaPing
from services.acumatica.settings import AcumaticaSettings
from services.bill.settings import BillSettings
from services.bill.webhook_registration import BillWebhookRegistrar
from services.runtime.oauth_tokens import TokenSet, VendorCallError
from services.runtime.vendor_plugin import VendorAccess
from services.zoho.settings import ZohoSettings
from services.zoho.webhook_registration import ZohoWebhookRegistrar


class Vendor:
    """Records each request and answers it with ``answer(request)``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    @property
    def sent(self) -> list[tuple[str, bytes]]:
        return [(r.method, r.url.raw_path) for r in self.requests]


# --- BILL ----------------------------------------------------------------------------------------


def bill(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/v3/login":
        return httpx.Response(200, json={"sessionId": "s-1", "organizationId": "008"})
    return httpx.Response(200, json={})


BILL_ACCESS = VendorAccess(
    connection_id="c-1",
    settings={"username": "ap@acme.test", "organization_id": "008"},
    secrets={"password": "pw", "dev_key": "dk"},
    tokens=None,
)


async def test_bill_unregister_keeps_a_subscription_id_in_its_segment() -> None:
    settings = BillSettings(
        api_base_url="https://api.bill.test", events_base_url="https://events.bill.test"
    )
    vendor = Vendor(bill)
    async with vendor.client() as http:
        await BillWebhookRegistrar(settings).unregister(
            http, BILL_ACCESS, ["sub-1", "../vendors?max=1"]
        )
    assert vendor.sent == [
        ("POST", b"/v3/login"),
        ("DELETE", b"/v3/subscriptions/sub-1"),
        ("DELETE", b"/v3/subscriptions/..%2Fvendors%3Fmax%3D1"),
        ("POST", b"/v3/logout"),
    ]


async def test_bill_unregister_of_a_dot_segment_costs_no_login() -> None:
    vendor = Vendor(bill)
    async with vendor.client() as http:
        with pytest.raises(VendorCallError, match="nothing was sent"):
            await BillWebhookRegistrar(BillSettings()).unregister(http, BILL_ACCESS, [".."])
    assert vendor.requests == []


# --- Zoho Books ----------------------------------------------------------------------------------


def zoho_access() -> VendorAccess:
    tokens = TokenSet(
        access_token="at",
        refresh_token="rt",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        extra={"api_domain": "https://www.zohoapis.test"},
    )
    return VendorAccess(
        connection_id="c-1", settings={"organization_id": "10234695"}, secrets={}, tokens=tokens
    )


async def test_zoho_unregister_keeps_a_webhook_id_in_its_segment() -> None:
    vendor = Vendor(lambda _: httpx.Response(200, json={"code": 0}))
    async with vendor.client() as http:
        await ZohoWebhookRegistrar(ZohoSettings()).unregister(
            http, zoho_access(), ["4600000001", "../../contacts"]
        )
    assert vendor.sent == [
        ("DELETE", b"/books/v3/settings/webhooks/4600000001?organization_id=10234695"),
        ("DELETE", b"/books/v3/settings/webhooks/..%2F..%2Fcontacts?organization_id=10234695"),
    ]


async def test_zoho_unregister_of_an_empty_id_sends_nothing() -> None:
    vendor = Vendor(lambda _: httpx.Response(200, json={"code": 0}))
    async with vendor.client() as http:
        with pytest.raises(VendorCallError, match="nothing was sent"):
            await ZohoWebhookRegistrar(ZohoSettings()).unregister(http, zoho_access(), ["1", ""])
    assert vendor.requests == []


# --- Acumatica -----------------------------------------------------------------------------------


def acumatica(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/entity/auth/login":
        return httpx.Response(204)
    return httpx.Response(200, json=[])


def acumatica_settings(version: str) -> dict[str, str]:
    return {
        "base_url": "https://acme.acumatica.test",
        "username": "api",
        "tenant": "Acme",
        "endpoint": "Default",
        "version": version,
    }


async def test_acumatica_ping_reads_the_entity_of_that_endpoint_version() -> None:
    vendor = Vendor(acumatica)
    async with vendor.client() as http:
        await AcumaticaPing(AcumaticaSettings()).ping_with_credentials(
            http, {"password": "pw"}, acumatica_settings("24.200.001")
        )
    assert [(m, p.split(b"?")[0]) for m, p in vendor.sent] == [
        ("GET", b"/entity"),  # which versions the instance serves (no sign-in needed)
        ("POST", b"/entity/auth/login"),
        ("GET", b"/entity/Default/24.200.001/Employee"),
        ("POST", b"/entity/auth/logout"),
    ]


@pytest.mark.parametrize("version", ["..", "", "24.200.001\n"])
async def test_acumatica_version_that_cannot_be_a_segment_spends_no_login(version: str) -> None:
    vendor = Vendor(acumatica)
    async with vendor.client() as http:
        with pytest.raises(VendorCallError, match="cannot be a URL path segment"):
            await AcumaticaPing(AcumaticaSettings()).ping_with_credentials(
                http, {"password": "pw"}, acumatica_settings(version)
            )
    assert vendor.requests == []


async def test_acumatica_version_with_slashes_stays_one_segment() -> None:
    vendor = Vendor(acumatica)
    async with vendor.client() as http:
        await AcumaticaPing(AcumaticaSettings()).ping_with_credentials(
            http, {"password": "pw"}, acumatica_settings("24.200.001/../../auth")
        )
    [_, _, (method, read), _] = vendor.sent
    assert method == "GET"
    assert read.split(b"?")[0] == b"/entity/Default/24.200.001%2F..%2F..%2Fauth/Employee"
