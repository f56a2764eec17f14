"""paginate() over page-fetching callables, URLs fit for logs, and what build_client logs."""

from __future__ import annotations

import io
import json
import logging
import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.runtime.http import (
    DEFAULT_TIMEOUT,
    Page,
    PaginationLoopError,
    build_client,
    loggable_url,
    network_transport,
    paginate,
)
from services.runtime.logging import configure_logging
from services.runtime.ratelimit import BudgetRegistry, RatePolicy


class PagedList:
    """Pages of a list keyed by cursor, recording which cursors were asked for."""

    def __init__(self, pages: dict[str | None, Page[int, str]]) -> None:
        self.pages = pages
        self.asked: list[str | None] = []

    async def fetch(self, cursor: str | None) -> Page[int, str]:
        self.asked.append(cursor)
        return self.pages[cursor]


async def collect(pages: PagedList, first_cursor: str | None = None) -> list[int]:
    return [item async for item in paginate(pages.fetch, first_cursor=first_cursor)]


async def drain(items: AsyncIterator[str], *, into: list[str]) -> None:
    async for item in items:
        into.append(item)


async def test_every_item_is_yielded_in_order_until_there_is_no_next_cursor() -> None:
    pages = PagedList({None: Page([1, 2], "b"), "b": Page([3, 4], "c"), "c": Page([5], None)})
    assert await collect(pages) == [1, 2, 3, 4, 5]
    assert pages.asked == [None, "b", "c"]


async def test_an_empty_page_ends_the_list_even_with_a_next_cursor() -> None:
    pages = PagedList({None: Page([1], "b"), "b": Page([], "c")})
    assert await collect(pages) == [1]
    assert pages.asked == [None, "b"]


async def test_paging_can_start_from_a_saved_cursor() -> None:
    pages = PagedList({"k": Page([7], "m"), "m": Page([8], None)})
    assert await collect(pages, first_cursor="k") == [7, 8]


async def test_a_cursor_that_comes_back_raises_instead_of_looping() -> None:
    pages = PagedList({None: Page([1], "b"), "b": Page([2], "c"), "c": Page([3], "b")})
    with pytest.raises(PaginationLoopError, match="cursor already fetched"):
        await collect(pages)
    assert pages.asked == [None, "b", "c"]


async def test_a_page_that_repeats_the_one_before_raises() -> None:
    # A server that ignores ?page= answers page 1 again and again.
    async def fetch(page: int | None) -> Page[str, int]:
        return Page(["ada", "grace"], (page or 1) + 1)

    seen: list[str] = []
    with pytest.raises(PaginationLoopError, match="repeats"):
        await drain(paginate(fetch), into=seen)
    assert seen == ["ada", "grace"]


def test_user_info_and_secret_query_values_are_kept_out_of_logged_urls() -> None:
    url = httpx.URL("https://bob:hunter2@api.example.com/v1/staff?access_token=abc&page=2")
    logged = loggable_url(url)
    assert "hunter2" not in logged
    assert "abc" not in logged
    assert logged == "https://api.example.com/v1/staff?access_token=redacted&page=2"


def test_a_url_without_a_query_is_logged_as_it_is() -> None:
    assert loggable_url(httpx.URL("https://api.example.com/v1/staff")) == (
        "https://api.example.com/v1/staff"
    )


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "agent": request.headers.get("user-agent")})


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The test's logs as JSON lines through the real pipeline; the old setup comes back after."""
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(service="test", level="info", stream=stream)
    try:
        yield stream
    finally:
        structlog.configure(**structlog_config)
        root.handlers[:] = handlers
        root.setLevel(level)


async def test_the_client_logs_each_answer_without_headers_or_query_secrets(
    json_logs: io.StringIO,
) -> None:
    stream = json_logs
    client = build_client(
        vendor="test",
        base_url="http://vendor.test",
        connection_key="conn-log",
        rate=RatePolicy(requests=10, per_seconds=1.0, max_in_flight=2),
        headers={"User-Agent": "ml-connector", "Authorization": "Bearer s3cr3t-token-value"},
        transport=httpx.ASGITransport(app=Starlette(routes=[Route("/staff", echo)])),
        budgets=BudgetRegistry(),
    )
    async with client:
        response = await client.get("/staff", params={"api_key": "k-123456", "page": "2"})

    assert response.json() == {"path": "/staff", "agent": "ml-connector"}
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    answers = [line for line in lines if line["event"] == "http.response"]
    assert len(answers) == 1
    assert answers[0]["status"] == 200
    assert answers[0]["method"] == "GET"
    assert answers[0]["connection"] == "conn-log"
    assert answers[0]["url"] == "http://vendor.test/staff?api_key=[REDACTED]&page=2"
    assert answers[0]["elapsed_ms"] >= 0
    assert "s3cr3t" not in stream.getvalue()
    assert "k-123456" not in stream.getvalue()


def test_the_default_timeouts_are_five_seconds_to_connect_and_thirty_to_read() -> None:
    assert DEFAULT_TIMEOUT.connect == 5.0
    assert DEFAULT_TIMEOUT.read == 30.0


def test_every_network_transport_shares_the_process_tls_context() -> None:
    # Building a TLS context loads every root certificate (tens of ms of CPU): a client
    # built per message must not pay it each time.
    first, second = network_transport(), network_transport()
    # httpcore keeps the context private; reading it is the point of this test.
    contexts = [transport._pool._ssl_context for transport in (first, second)]
    assert contexts[0] is not None
    assert contexts[0] is contexts[1]
    assert contexts[0].verify_mode is ssl.CERT_REQUIRED
