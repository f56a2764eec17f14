"""Random requests at the ingest app never get a 5xx and never reach a topic.

Hypothesis throws random methods, paths, headers and bodies at the app in process (a
real SQLite store and vault; the Kafka publish is the recording stand-in). A second run
signs random bodies correctly, so they get past verification: then the answer is 200
(published) or 400 (not JSON), still never a 5xx.
"""

from __future__ import annotations

import string
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from services.ingest.webhooks import SECRET_FIELD, WebhookIntake, webhook_routes
from tests.unit.ingest.ingest_harness import (
    RecordingPublisher,
    add_connection,
    bamboohr_headers,
    new_vault,
    open_store,
    test_settings,
)

SECRET = "fuzz-secret-0123456789"
NOW = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
KNOWN_HEADERS = [
    "content-type",
    "content-length",
    "x-bamboohr-signature",
    "x-bamboohr-timestamp",
    "x-freshbooks-hmac-sha256",
    "x-bill-sha-signature",
    "x-zoho-webhook-signature",
]
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

header_values = st.text(alphabet=string.printable.strip() + " ", max_size=60).map(str.strip)
header_names = st.one_of(
    st.sampled_from(KNOWN_HEADERS), st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)
)
segments = st.one_of(
    st.sampled_from(["bamboohr", "freshbooks", "bill", "zoho", "acumatica", "hr-1", "fb-1"]),
    st.text(min_size=1, max_size=30).map(lambda text: quote(text, safe="")),
)


@pytest.fixture
async def fuzzed(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingPublisher]]:
    store = await open_store(tmp_path)
    vault = new_vault()
    for vendor, connection_id in [("bamboohr", "hr-1"), ("freshbooks", "fb-1"), ("bill", "b-1"),
                                  ("zoho", "z-1")]:  # fmt: skip
        await add_connection(
            store, vault, vendor=vendor, connection_id=connection_id,
            secrets={SECRET_FIELD: SECRET},
        )  # fmt: skip
    publisher = RecordingPublisher()
    intake = WebhookIntake(
        store=store,
        vault=vault,
        publish=publisher,
        settings=test_settings(webhook_max_body_bytes=2048),
        clock=lambda: NOW,
    )
    app = Starlette(routes=webhook_routes(intake))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        yield client, publisher
    await intake.aclose()
    await store.close()


@FUZZ
@given(
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE"]),
    path=st.one_of(
        st.tuples(segments, segments).map(lambda pair: f"/webhooks/{pair[0]}/{pair[1]}"),
        st.lists(segments, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    ),
    headers=st.dictionaries(header_names, header_values, max_size=6),
    content_type=st.sampled_from(CONTENT_TYPES),
    body=st.one_of(st.binary(max_size=3000), st.text(max_size=300).map(str.encode)),
)
async def test_random_requests_never_get_a_5xx_nor_reach_a_topic(
    fuzzed: tuple[httpx.AsyncClient, RecordingPublisher],
    *,
    method: str,
    path: str,
    headers: dict[str, str],
    content_type: str,
    body: bytes,
) -> None:
    client, publisher = fuzzed
    sent = {"content-type": content_type, **headers}
    sent.pop("content-length", None)  # httpx sets the true one; a false one breaks the client
    answer = await client.request(method, path, headers=sent, content=body)
    assert answer.status_code < 500, (method, path, answer.text)
    assert publisher.published == []


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=600),
        st.text(max_size=200).map(str.encode),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=10,
        ).map(lambda value: httpx.Request("POST", "/", json=value).content),
    )
)
async def test_correctly_signed_random_bodies_are_published_or_refused_as_malformed(
    fuzzed: tuple[httpx.AsyncClient, RecordingPublisher], body: bytes
) -> None:
    client, publisher = fuzzed
    before = len(publisher.published)
    headers = bamboohr_headers(body, secret=SECRET, timestamp=str(int(NOW.timestamp())))
    answer = await client.post("/webhooks/bamboohr/hr-1", headers=headers, content=body)
    assert answer.status_code in {200, 400}, answer.text
    if answer.status_code == 400:
        assert answer.json()["error"] in {"malformed_json", "malformed_body"}
        assert len(publisher.published) == before
    elif answer.json()["status"] == "accepted":
        assert publisher.published[-1][0].body == body.decode()
