"""Redaction of secrets, and the JSON log pipeline for structlog and stdlib loggers."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
import structlog
from pydantic import BaseModel, SecretStr

from services.runtime.logging import (
    REDACTED,
    configure_logging,
    get_logger,
    is_sensitive_key,
    redact,
    redact_text,
)

SECRET = "s3cr3t-Value-42"


# --- redact(): by key ------------------------------------------------------------


def test_a_token_in_a_dict_inside_a_list_is_redacted() -> None:
    payload = {"items": [{"name": "x", "auth": {"access_token": SECRET, "expires_in": 3600}}]}

    redacted = redact(payload)

    assert redacted == {
        "items": [{"name": "x", "auth": {"access_token": REDACTED, "expires_in": 3600}}]
    }
    assert payload["items"][0]["auth"]["access_token"] == SECRET  # type: ignore[index]


def test_authorization_cookies_and_signatures_in_httpx_headers_are_redacted() -> None:
    headers = httpx.Headers(
        [
            ("Authorization", f"Bearer {SECRET}"),
            ("Set-Cookie", f"sid={SECRET}"),
            ("Set-Cookie", "theme=dark"),
            ("X-Acme-Sha-Signature", SECRET),
            ("Content-Type", "application/json"),
        ]
    )

    redacted = redact(headers)

    assert redacted == {
        "authorization": REDACTED,
        "set-cookie": [REDACTED, REDACTED],
        "x-acme-sha-signature": REDACTED,
        "content-type": "application/json",
    }


def test_header_pairs_as_asgi_sends_them_are_redacted_by_name() -> None:
    scope_headers = [(b"authorization", b"Basic dXNlcjpwYXNz"), (b"host", b"example.test")]

    assert redact(scope_headers) == [("authorization", REDACTED), ("host", "example.test")]


@pytest.mark.parametrize(
    "key",
    [
        "access_token",
        "refreshToken",
        "id_token",
        "password",
        "PASSWORD",
        "client_secret",
        "webhookSecret",
        "api_key",
        "X-API-Key",
        "apiKey",
        "devKey",
        "sessionId",
        "session_id",
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "set-cookie",
        "signature",
        "X-Hub-Signature-256",
        "x-acme-sha-signature",
        "credentials",
        "private_key",
        "master_keys",
    ],
)
def test_sensitive_keys_are_recognised_whatever_their_case_and_separators(key: str) -> None:
    assert is_sensitive_key(key)
    assert redact({key: SECRET}) == {key: REDACTED}


@pytest.mark.parametrize(
    "key",
    ["token_type", "connection_id", "entity_key", "event", "status_code", "url", "key", "author"],
)
def test_ordinary_keys_are_left_alone(key: str) -> None:
    assert not is_sensitive_key(key)
    assert redact({key: "plain"}) == {key: "plain"}


def test_flags_and_absent_values_under_sensitive_keys_are_kept() -> None:
    redacted = redact({"signature_valid": True, "refresh_token": None, "api_key": 1234})

    assert redacted == {"signature_valid": True, "refresh_token": None, "api_key": REDACTED}


def test_pydantic_models_are_redacted_field_by_field() -> None:
    class TokenResponse(BaseModel):
        access_token: str
        refresh_token: SecretStr
        token_type: str
        scope: str

    model = TokenResponse(
        access_token=SECRET, refresh_token=SecretStr(SECRET), token_type="bearer", scope="read"
    )

    assert redact({"response": model}) == {
        "response": {
            "access_token": REDACTED,
            "refresh_token": REDACTED,
            "token_type": "bearer",
            "scope": "read",
        }
    }


def test_dataclasses_tuples_sets_and_bytes_are_redacted_too() -> None:
    @dataclass
    class Credentials:
        username: str
        password: str

    redacted = redact(
        {
            "login": Credentials(username="ann", password=SECRET),
            "form": [("grant_type", "refresh_token"), ("client_secret", SECRET)],
            "tags": {"a"},
            "body": f'{{"refresh_token": "{SECRET}"}}'.encode(),
        }
    )

    assert redacted == {
        "login": {"username": "ann", "password": REDACTED},
        "form": [("grant_type", "refresh_token"), ("client_secret", REDACTED)],
        "tags": ["a"],
        "body": f'{{"refresh_token": "{REDACTED}"}}',
    }


def test_a_secret_in_an_exception_message_is_masked() -> None:
    error = RuntimeError(f"token refresh failed: refresh_token={SECRET} was rejected")

    redacted = redact({"error": error})

    assert redacted == {
        "error": f"RuntimeError: token refresh failed: refresh_token={REDACTED} was rejected"
    }


def test_a_value_nested_deeper_than_the_limit_is_truncated_not_recursed_forever() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop

    redacted = redact(loop)

    depth = 0
    node = redacted
    while isinstance(node, dict):
        node = node["self"]
        depth += 1
    assert node == "[TRUNCATED]"
    assert depth > 10


# --- redact_text(): by shape, inside free text -------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"sent Authorization: Bearer {SECRET} to host", "sent Authorization: [REDACTED] to host"),
        (f"header was Bearer {SECRET}", "header was Bearer [REDACTED]"),
        ("basic dXNlcjpwYXNzd29yZA==", "basic [REDACTED]"),
        (f"GET /cb?code=1&access_token={SECRET}&x=1", "GET /cb?code=1&access_token=[REDACTED]&x=1"),
        (f'{{"client_secret": "{SECRET} x", "id": 7}}', '{"client_secret": "[REDACTED]", "id": 7}'),
        (f"{{'password': '{SECRET}'}}", "{'password': '[REDACTED]'}"),
        (
            f"postgresql+asyncpg://mlc:{SECRET}@db:5432/mlc",
            "postgresql+asyncpg://mlc:[REDACTED]@db:5432/mlc",
        ),
        (f"ValueError: api_key={SECRET}", "ValueError: api_key=[REDACTED]"),
    ],
)
def test_credentials_inside_free_text_are_masked(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert SECRET not in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "synced 3 employees for connection conn-1",
        "token_type=bearer expires_in=3600",
        "the basic plan has no API access",
        "https://api.example.test/v1/items?page=2",
        "2026-11-23T00:54:59.175237Z",
    ],
)
def test_ordinary_text_passes_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_masking_a_long_line_takes_linear_time() -> None:
    line = "a: " * 100_000 + "x" * 100_000 + "token=" * 50_000

    masked = redact_text(line)

    assert masked.endswith(f"token={REDACTED}")


# --- configure_logging(): the real pipeline --------------------------------------


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Configure logging into a buffer; hand back a reader of the parsed lines; restore after."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(service="test-service", level="info", stream=stream)

    def read() -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    logging.captureWarnings(False)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_a_structlog_line_is_json_with_time_level_service_and_context(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    structlog.contextvars.bind_contextvars(connection_id="conn-7")
    log = get_logger("services.example")

    log.info("employee synced", employee_id=42, headers={"Authorization": f"Bearer {SECRET}"})

    (line,) = log_lines()
    assert line["event"] == "employee synced"
    assert line["level"] == "info"
    assert line["service"] == "test-service"
    assert line["logger"] == "services.example"
    assert line["connection_id"] == "conn-7"
    assert line["employee_id"] == 42
    assert line["headers"] == {"Authorization": REDACTED}
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() is not None


def test_a_library_log_through_stdlib_logging_is_json_and_redacted(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    logging.getLogger("aiokafka.conn").warning(
        "request failed with %s", f"Authorization: Bearer {SECRET}"
    )

    (line,) = log_lines()
    assert line["event"] == f"request failed with Authorization: {REDACTED}"
    assert line["level"] == "warning"
    assert line["logger"] == "aiokafka.conn"
    assert line["service"] == "test-service"


def test_a_traceback_is_rendered_with_its_secrets_masked(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    log = get_logger("services.example")
    try:
        raise PermissionError(f"refresh rejected: client_secret={SECRET}")
    except PermissionError:
        log.exception("token refresh failed")
    try:
        raise ValueError(f"Bearer {SECRET}")
    except ValueError:
        logging.getLogger("httpx").exception("transport error")

    first, second = log_lines()
    assert first["level"] == "error"
    assert "Traceback (most recent call last)" in first["exception"]
    assert f"PermissionError: refresh rejected: client_secret={REDACTED}" in first["exception"]
    assert f"ValueError: Bearer {REDACTED}" in second["exception"]
    assert SECRET not in orjson.dumps([first, second]).decode()


def test_lines_below_the_configured_level_are_not_written(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    get_logger("services.example").debug("hidden")
    logging.getLogger("aiokafka").debug("hidden too")
    get_logger("services.example").warning("shown")

    assert [line["event"] for line in log_lines()] == ["shown"]


def test_an_object_json_cannot_encode_is_logged_as_its_masked_text(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    class Opaque:
        def __str__(self) -> str:
            return f"Opaque(password={SECRET})"

    get_logger("services.example").info("odd value", thing=Opaque())

    (line,) = log_lines()
    assert line["thing"] == f"Opaque(password={REDACTED})"


def test_configuring_again_replaces_the_pipeline_instead_of_adding_one(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    second = io.StringIO()

    configure_logging(service="other-service", level="debug", stream=second)
    get_logger("services.example").debug("once")

    assert log_lines() == []
    (line,) = [orjson.loads(text) for text in second.getvalue().splitlines()]
    assert line["service"] == "other-service"
    assert line["event"] == "once"


def test_python_warnings_are_logged_through_the_pipeline(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        # catch_warnings restores showwarning on exit; route this one through logging.
        logging.captureWarnings(True)
        warnings.warn(f"deprecated option password={SECRET}", UserWarning, stacklevel=1)

    (line,) = log_lines()
    assert line["logger"] == "py.warnings"
    assert f"password={REDACTED}" in line["event"]
    assert SECRET not in line["event"]


def test_an_unknown_level_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud': choose one of debug, info"):
        configure_logging(service="x", level="loud", stream=io.StringIO())


def test_masking_an_already_masked_text_changes_nothing() -> None:
    once = redact_text("access_token=abc123def next=1")
    assert once == "access_token=[REDACTED] next=1"
    assert redact_text(once) == once
