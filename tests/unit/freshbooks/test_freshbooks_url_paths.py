"""Ids from outside never steer a FreshBooks call to another path (issue 10, defect 1).

A handshake's ``object_id`` is whatever an unauthenticated form said; it used to be
formatted into the verification PUT, so ``../`` or ``?`` aimed the connection's bearer
token at any FreshBooks path. The vendor is an ``httpx.MockTransport`` that records every
request: what matters is what would have left the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest

from services.freshbooks.client import FreshBooksClient, FreshBooksIdError
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.webhook_registration import FreshBooksWebhookRegistrar
from services.runtime.oauth_tokens import TokenKeeper, TokenSet, VendorCallError
from services.runtime.vendor_plugin import VendorAccess

API = "https://api.freshbooks.test"
ACCOUNT_ID = "aC3mE7"
BUSINESS_ID = "77001"
TOKENS = TokenSet(
    access_token="at-1",
    refresh_token="rt-1",
    expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    extra={},
)
HOSTILE_IDS = ["../../users/me", "1?x=1", "1%2F..%2Fusers", "1/2", "..", "", "1#x", "12a", "-1"]


class Vendor:
    """Records each request and answers it with ``answer(request)``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer or (lambda _: httpx.Response(200, json={}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)

    def client(self, base_url: str = "") -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, transport=httpx.MockTransport(self))

    @property
    def sent(self) -> list[tuple[str, bytes]]:
        return [(r.method, r.url.raw_path) for r in self.requests]


def access(account_id: str = ACCOUNT_ID) -> VendorAccess:
    return VendorAccess(
        connection_id="c-1", settings={"account_id": account_id}, secrets={}, tokens=TOKENS
    )


def registrar(events: tuple[str, ...] = ("expense.create",)) -> FreshBooksWebhookRegistrar:
    return FreshBooksWebhookRegistrar(FreshBooksSettings(api_base_url=API, webhook_events=events))


# --- the verifier handshake -------------------------------------------------------------------


@pytest.mark.parametrize("webhook_id", HOSTILE_IDS)
async def test_confirm_with_a_hostile_callback_id_sends_nothing(webhook_id: str) -> None:
    vendor = Vendor()
    async with vendor.client() as http:
        with pytest.raises(VendorCallError, match="not a FreshBooks id"):
            await registrar().confirm(http, access(), webhook_id, "verifier-1")
    assert vendor.requests == []


async def test_confirm_puts_the_verifier_on_exactly_that_callback() -> None:
    vendor = Vendor()
    async with vendor.client() as http:
        await registrar().confirm(http, access(), "123", "verifier-1")
    [request] = vendor.requests
    assert request.method == "PUT"
    assert str(request.url) == f"{API}/events/account/{ACCOUNT_ID}/events/callbacks/123"
    assert request.url.raw_path == f"/events/account/{ACCOUNT_ID}/events/callbacks/123".encode()
    assert request.headers["Authorization"] == "Bearer at-1"
    assert request.read() == b'{"callback":{"verifier":"verifier-1"}}'


@pytest.mark.parametrize("webhook_id", HOSTILE_IDS)
async def test_unregister_checks_every_id_before_the_first_delete(webhook_id: str) -> None:
    vendor = Vendor(lambda _: httpx.Response(204))
    async with vendor.client() as http:
        with pytest.raises(VendorCallError):
            await registrar().unregister(http, access(), ["2001", webhook_id])
    assert vendor.requests == []


async def test_unregister_deletes_each_callback_by_its_own_path() -> None:
    vendor = Vendor(lambda _: httpx.Response(204))
    async with vendor.client() as http:
        await registrar().unregister(http, access(), ["2001", "2002"])
    callbacks = f"/events/account/{ACCOUNT_ID}/events/callbacks"
    assert vendor.sent == [
        ("DELETE", f"{callbacks}/2001".encode()),
        ("DELETE", f"{callbacks}/2002".encode()),
    ]


async def test_a_callback_id_freshbooks_answers_out_of_shape_is_not_kept() -> None:
    answers = iter([2001, "../../users/me"])

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(204)
        created = {"callback": {"callbackid": next(answers), "verified": False}}
        return httpx.Response(200, json={"response": {"result": created}})

    vendor = Vendor(answer)
    async with vendor.client() as http:
        with pytest.raises(VendorCallError, match="not a FreshBooks id"):
            await registrar(("expense.create", "bill.create")).register(
                http, access(), "https://hooks.test/webhooks/freshbooks/c-1"
            )
    callbacks = f"/events/account/{ACCOUNT_ID}/events/callbacks"
    # Half a registration is none: the one good callback is removed again, by its own path.
    assert vendor.sent == [
        ("POST", callbacks.encode()),
        ("POST", callbacks.encode()),
        ("DELETE", f"{callbacks}/2001".encode()),
    ]


async def test_a_stored_account_id_is_one_segment_and_a_dot_segment_is_refused() -> None:
    vendor = Vendor()
    async with vendor.client() as http:
        await registrar().confirm(http, access("Ab/../12"), "7", "v")
        with pytest.raises(VendorCallError):
            await registrar().confirm(http, access(".."), "7", "v")
    assert vendor.sent == [("PUT", b"/events/account/Ab%2F..%2F12/events/callbacks/7")]


# --- the client's paths ------------------------------------------------------------------------


class Keeper:
    """The TokenKeeper call the client makes; the token never changes here."""

    async def call(
        self,
        connection_id: str,
        send: Callable[[str], Awaitable[httpx.Response]],
        *,
        refused: Callable[[httpx.Response], bool],
    ) -> httpx.Response:
        return await send(TOKENS.access_token)


def answering(body: Mapping[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: httpx.Response(200, json=body)


def fb_client(http: httpx.AsyncClient) -> FreshBooksClient:
    return FreshBooksClient(
        http=http,
        keeper=cast("TokenKeeper", Keeper()),
        connection_id="c-1",
        account_id=ACCOUNT_ID,
        business_id=BUSINESS_ID,
    )


EXPENSE = {"id": 401, "expenseid": 401, "staffid": 1, "notes": "", "vis_state": 0}


@pytest.mark.parametrize("expense_id", HOSTILE_IDS)
async def test_an_expense_id_from_a_callback_must_be_digits(expense_id: str) -> None:
    vendor = Vendor(answering({"response": {"result": {"expense": EXPENSE}}}))
    async with vendor.client(API) as http:
        with pytest.raises(FreshBooksIdError):
            await fb_client(http).get_expense(expense_id)
    assert vendor.requests == []


async def test_an_expense_is_read_from_its_own_path() -> None:
    vendor = Vendor(answering({"response": {"result": {"expense": EXPENSE}}}))
    async with vendor.client(API) as http:
        expense = await fb_client(http).get_expense("401")
    assert expense is not None
    assert expense.id == 401
    assert vendor.sent == [
        ("GET", f"/accounting/account/{ACCOUNT_ID}/expenses/expenses/401".encode())
    ]


async def test_staff_paths_carry_the_integer_id() -> None:
    staff = {"id": 5, "email": "ava@acme.example", "vis_state": 0}
    vendor = Vendor(answering({"response": {"result": {"staff": staff}}}))
    async with vendor.client(API) as http:
        await fb_client(http).get_staff(5)
        await fb_client(http).put_staff(5, {"vis_state": 1})
    path = f"/accounting/account/{ACCOUNT_ID}/users/staffs/5".encode()
    assert vendor.sent == [("GET", path), ("PUT", path)]


async def test_a_team_member_uuid_is_encoded_into_one_segment() -> None:
    vendor = Vendor(lambda _: httpx.Response(404))
    async with vendor.client(API) as http:
        found = await fb_client(http).team_member("../../users/me?x=1")
    assert found is None
    assert vendor.sent == [
        (
            "GET",
            f"/auth/api/v1/businesses/{BUSINESS_ID}/team_members/..%2F..%2Fusers%2Fme%3Fx%3D1".encode(),
        )
    ]
