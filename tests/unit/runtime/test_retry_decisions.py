"""Which answers RetryTransport retries and how long it waits, with the sleep recorded, not spent.

The server is a Starlette app reached in process through httpx.ASGITransport.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.runtime.retry import ATTEMPTS_EXTENSION, RetryPolicy, RetryTransport, is_idempotent

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class ScriptedApp:
    """Answers from a list of (status, headers); 200 once the list is used up."""

    def __init__(self, *answers: tuple[int, dict[str, str]]) -> None:
        self.answers = deque(answers)
        self.seen: list[str] = []
        self.app = Starlette(
            routes=[Route("/{path:path}", self.answer, methods=["GET", "POST", "PUT", "DELETE"])]
        )

    async def answer(self, request: Request) -> Response:
        self.seen.append(request.method)
        status, headers = self.answers.popleft() if self.answers else (200, {})
        return Response(status_code=status, headers=headers)


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(app: ScriptedApp, sleep: SleepRecorder, policy: RetryPolicy) -> httpx.AsyncClient:
    transport = RetryTransport(
        httpx.ASGITransport(app=app.app), policy, sleep=sleep, draw=lambda: 0.0, now=lambda: NOW
    )
    return httpx.AsyncClient(transport=transport, base_url="http://vendor.test")


POLICY = RetryPolicy(max_attempts=4, base_backoff=1.0, max_backoff=3.0, max_retry_after=60.0)


async def test_waits_grow_exponentially_up_to_the_ceiling() -> None:
    app = ScriptedApp((500, {}), (502, {}), (504, {}))
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.get("/")

    assert response.status_code == 200
    assert response.extensions[ATTEMPTS_EXTENSION] == 4
    assert sleep.waits == [1.0, 2.0, 3.0]


async def test_retry_after_is_obeyed_exactly_instead_of_the_backoff() -> None:
    app = ScriptedApp(
        (503, {"Retry-After": "17"}), (429, {"Retry-After": "Sun, 01 Mar 2026 12:00:42 GMT"})
    )
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.get("/")

    assert response.status_code == 200
    assert sleep.waits == [17.0, 42.0]


@pytest.mark.parametrize("retry_after", ["61", "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_a_retry_after_over_the_cap_returns_the_refusal_without_waiting(
    retry_after: str,
) -> None:
    app = ScriptedApp((429, {"Retry-After": retry_after}))
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.get("/")

    assert response.status_code == 429
    assert sleep.waits == []
    assert app.seen == ["GET"]


async def test_a_garbage_retry_after_falls_back_to_the_backoff_for_a_get() -> None:
    app = ScriptedApp((503, {"Retry-After": "whenever"}))
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.get("/")

    assert response.status_code == 200
    assert sleep.waits == [1.0]


async def test_a_garbage_retry_after_does_not_make_a_post_retryable() -> None:
    app = ScriptedApp((503, {"Retry-After": "whenever"}))
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.post("/", json={})

    assert response.status_code == 503
    assert app.seen == ["POST"]


async def test_retry_after_on_a_500_is_not_a_promise_and_a_post_is_not_retried() -> None:
    app = ScriptedApp((500, {"Retry-After": "1"}))
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.post("/", json={})

    assert response.status_code == 500
    assert sleep.waits == []


async def test_a_4xx_other_than_429_is_never_retried() -> None:
    app = ScriptedApp((404, {}))
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.get("/")

    assert response.status_code == 404
    assert app.seen == ["GET"]


async def test_a_put_can_be_marked_not_idempotent() -> None:
    app = ScriptedApp((502, {}))
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.put("/", json={}, extensions={"idempotent": False})

    assert response.status_code == 502
    assert app.seen == ["PUT"]


async def test_a_streamed_request_body_is_sent_only_once() -> None:
    async def body() -> object:
        yield b"{}"

    app = ScriptedApp((502, {}))
    sleep = SleepRecorder()
    async with client(app, sleep, POLICY) as http:
        response = await http.put("/", content=body())  # type: ignore[arg-type]

    assert response.status_code == 502
    assert app.seen == ["PUT"]


async def test_one_attempt_means_no_retry_even_when_the_server_asks() -> None:
    app = ScriptedApp((429, {"Retry-After": "1"}))
    sleep = SleepRecorder()
    async with client(app, sleep, RetryPolicy(max_attempts=1)) as http:
        response = await http.get("/")

    assert response.status_code == 429
    assert sleep.waits == []


@pytest.mark.parametrize(
    ("method", "headers", "extensions", "idempotent"),
    [
        ("GET", {}, {}, True),
        ("DELETE", {}, {}, True),
        ("POST", {}, {}, False),
        ("PATCH", {}, {}, False),
        ("POST", {"Idempotency-Key": "k-1"}, {}, True),
        ("POST", {}, {"idempotent": True}, True),
        ("PUT", {}, {"idempotent": False}, False),
    ],
)
def test_idempotency_follows_the_method_unless_the_caller_says_otherwise(
    method: str, headers: dict[str, str], extensions: dict[str, object], idempotent: bool
) -> None:
    request = httpx.Request(method, "http://vendor.test/", headers=headers, extensions=extensions)
    assert is_idempotent(request) is idempotent


class BodyApp:
    """Answers 400 with a vendor error code in the body, ``refusals`` times, then 201."""

    def __init__(self, code: str, refusals: int) -> None:
        self.code = code
        self.refusals = refusals
        self.seen = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.answer, methods=["POST"])])

    async def answer(self, request: Request) -> Response:
        self.seen += 1
        if self.seen <= self.refusals:
            return Response(f'[{{"code":"{self.code}"}}]', status_code=400)
        return Response("{}", status_code=201)


def _concurrency_refusal(response: httpx.Response) -> bool:
    return "BDC_1322" in response.text


async def test_a_refusal_the_vendor_says_was_not_processed_is_retried_even_for_a_post() -> None:
    policy = RetryPolicy(
        max_attempts=4, base_backoff=1.0, max_backoff=3.0, not_processed=_concurrency_refusal
    )
    sleep = SleepRecorder()
    app = BodyApp("BDC_1322", refusals=2)
    transport = RetryTransport(
        httpx.ASGITransport(app=app.app), policy, sleep=sleep, draw=lambda: 0.0
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://vendor.test") as http:
        answer = await http.post("/bills", json={})
    assert (answer.status_code, app.seen, sleep.waits) == (201, 3, [1.0, 2.0])

    other = BodyApp("BDC_1001", refusals=1)  # any other refusal of a POST: returned at once
    transport = RetryTransport(
        httpx.ASGITransport(app=other.app), policy, sleep=sleep, draw=lambda: 0.0
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://vendor.test") as http:
        refused = await http.post("/bills", json={})
    assert (refused.status_code, other.seen) == (400, 1)
    assert "BDC_1001" in refused.text  # the body is there for the caller to read
