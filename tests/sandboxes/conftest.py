"""Fixtures to drive any sandbox in process (ASGI transport) or over a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sandboxes.sandbox_harness import (
    Connector,
    WebhookReceiver,
    run_in_process,
    run_over_socket,
    running_webhook_receiver,
)


@pytest.fixture
def in_process() -> Connector:
    return run_in_process


@pytest.fixture
def over_socket() -> Connector:
    return run_over_socket


@pytest.fixture(params=["in_process", "over_socket"])
def connect(request: pytest.FixtureRequest) -> Connector:
    """Runs the test twice: once in process, once over a real socket."""
    return run_in_process if request.param == "in_process" else run_over_socket


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """A real local HTTP server that records the webhooks it is sent."""
    async with running_webhook_receiver() as receiver:
        yield receiver
