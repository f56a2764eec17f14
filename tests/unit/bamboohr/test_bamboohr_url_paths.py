"""BambooHR ids and subdomains never steer a call to another path or host (issue 10, defect 1).

The vendor is an ``httpx.MockTransport`` recording every request: what matters is what
would have left the process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.client import ApiKeyAuthorization, BambooHRClient
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.webhook_registration import BambooHRWebhookRegistrar
from services.runtime.oauth_tokens import TokenSet, VendorCallError
from services.runtime.vendor_plugin import VendorAccess

COMPANY = "https://acme.bamboohr.test"
SETTINGS = BambooHRSettings(company_url_template="https://{subdomain}.bamboohr.test")


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
    def sent(self) -> list[tuple[str, str, bytes]]:
        return [(r.method, r.url.host, r.url.raw_path) for r in self.requests]


def employee_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": "123", "firstName": "Ava"})


@pytest.mark.parametrize(
    "employee_id", ["../../webhooks", "1?fields=ssn", "1%2F..%2Fmeta", "1/2", "..", "", "0", "1a"]
)
async def test_get_employee_refuses_an_id_that_is_not_one_before_any_call(
    employee_id: str,
) -> None:
    vendor = Vendor(employee_answer)
    async with vendor.client() as http:
        client = BambooHRClient(http, COMPANY, ApiKeyAuthorization("key"))
        with pytest.raises(VendorCallError, match="not a BambooHR employee id"):
            await client.get_employee(employee_id, ["firstName"])
    assert vendor.requests == []


async def test_get_employee_reads_exactly_that_employee() -> None:
    vendor = Vendor(employee_answer)
    async with vendor.client() as http:
        client = BambooHRClient(http, COMPANY, ApiKeyAuthorization("key"))
        employee = await client.get_employee("123", ["firstName", "workEmail"])
    assert employee is not None
    assert employee.id == "123"
    [request] = vendor.requests
    assert request.url.host == "acme.bamboohr.test"
    assert request.url.raw_path == b"/api/v1/employees/123?fields=firstName%2CworkEmail"


@pytest.mark.parametrize(
    "subdomain",
    ["evil.test#", "acme.evil", "a/b", "..", "acme@evil", "acme:80", "-acme", "acme-", "", "ａcme"],
)
def test_a_subdomain_must_be_one_host_label(subdomain: str) -> None:
    with pytest.raises(ValueError, match="subdomain"):
        BambooHRAuth(SETTINGS).company_url({"subdomain": subdomain})


def test_a_subdomain_label_becomes_the_company_host() -> None:
    assert BambooHRAuth(SETTINGS).company_url({"subdomain": "Acme-2"}) == (
        "https://acme-2.bamboohr.test"
    )


async def test_an_api_key_connection_with_a_bad_subdomain_is_a_vendor_call_error() -> None:
    vendor = Vendor(lambda _: httpx.Response(200))
    access = VendorAccess(
        connection_id="c-1",
        settings={"company_domain": "evil.test/x"},
        secrets={"api_key": "key"},
        tokens=None,
    )
    async with vendor.client() as http:
        with pytest.raises(VendorCallError, match="subdomain"):
            await BambooHRWebhookRegistrar(SETTINGS).unregister(http, access, ["7"])
    assert vendor.requests == []


async def test_unregister_keeps_each_webhook_id_inside_its_segment() -> None:
    vendor = Vendor(lambda _: httpx.Response(200))
    tokens = TokenSet(
        access_token="at",
        refresh_token="rt",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        extra={"company_url": COMPANY},
    )
    access = VendorAccess(connection_id="c-1", settings={}, secrets={}, tokens=tokens)
    async with vendor.client() as http:
        await BambooHRWebhookRegistrar(SETTINGS).unregister(http, access, ["12", "../employees/1"])
    assert vendor.sent == [
        ("DELETE", "acme.bamboohr.test", b"/api/v1/webhooks/12"),
        ("DELETE", "acme.bamboohr.test", b"/api/v1/webhooks/..%2Femployees%2F1"),
    ]
