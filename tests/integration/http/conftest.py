"""The scripted HTTP server, served by uvicorn on 127.0.0.1 (ephemeral port) for the session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandboxes.kit import serve
from tests.integration.http.scripted_server import ScriptedServer


@pytest.fixture(scope="session")
async def scripted_server() -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer()
    async with serve(server.app) as running:
        server.base_url = running.base_url
        yield server
