"""A URL with a control character is refused at the door, 400, and its refusal recorded."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services.runtime.url_guard import ControlCharacterGuard, has_control_character


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/webhooks/bamboohr/abc\x00def", b""),
        ("/api/v1/links/x\x1by", b""),
        ("/oauth/freshbooks/callback", b"code=abc%00&state=s"),
        ("/oauth/freshbooks/callback", b"state=%7F"),
        ("/oauth/freshbooks/callback", b"state=a%0Db"),
    ],
)
def test_a_control_character_in_the_path_or_the_query_is_found(path: str, query: bytes) -> None:
    assert has_control_character(path, query)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/webhooks/bamboohr/6a3ed22696144ef88ebfbdd6a569a865", b""),
        ("/api/v1/links/Zo\u00eb \u2603", b"limit=10&name=%C3%A9t%C3%A9+x"),
        ("/oauth/freshbooks/callback", b"code=a%2Fb%3D%25&state=%20"),
    ],
)
def test_unicode_spaces_and_escapes_are_not_control_characters(path: str, query: bytes) -> None:
    assert not has_control_character(path, query)


async def test_the_guard_answers_400_and_records_the_refusal_before_any_route_runs() -> None:
    reached: list[str] = []
    refused: list[str | None] = []

    async def echo(request: Request) -> PlainTextResponse:
        reached.append(request.path_params["item"])
        return PlainTextResponse("ok")

    async def record(client: str | None) -> None:
        refused.append(client)

    app = ControlCharacterGuard(Starlette(routes=[Route("/items/{item}", echo)]), refused=record)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4711)),
        base_url="http://edge",
    ) as client:
        bad = await client.get("/items/a%00b")
        bad_query = await client.get("/items/a", params={"q": "x\x00"})
        good = await client.get("/items/a%20b")

    assert bad.status_code == bad_query.status_code == 400
    assert bad.json() == {"error": "bad_url", "detail": "the URL holds a control character"}
    assert refused == ["203.0.113.9", "203.0.113.9"]
    assert good.status_code == 200
    assert reached == ["a b"]
