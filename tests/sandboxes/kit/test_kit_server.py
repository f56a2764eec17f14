"""The server runner: a real socket on an ephemeral port, started and stopped cleanly."""

from __future__ import annotations

import httpx
import pytest

from sandboxes.kit import build_app, serve
from tests.sandboxes.kit.toy_sandbox import ToySandbox


async def test_serve_reports_the_ephemeral_port_and_answers_on_it() -> None:
    sandbox = ToySandbox()
    async with serve(build_app(sandbox)) as server:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            assert (await client.get("/_sandbox")).json()["vendor"] == "toy"
            assert (await client.get("/widgets")).status_code == 200
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{server.base_url}/widgets")
