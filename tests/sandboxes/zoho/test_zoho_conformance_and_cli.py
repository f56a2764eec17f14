"""The Zoho conformance replay (fed a hand-written reference, never ../shared) and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devstack.ports import free_port
from sandboxes.conformance import VENDORS
from sandboxes.zoho.conformance import replay_zoho

ROOT = Path(__file__).resolve().parents[3]


def _write_reference(root: Path) -> None:
    calls = {
        "api": {
            "get": {
                "/books/v3/contacts/999": {
                    "request": {"params": {"organization_id": "1"}},
                    "status": 200,
                    "headers": {"content-type": "application/json;charset=UTF-8"},
                    "response": {
                        "code": 0,
                        "message": "success",
                        "contact": {
                            "contact_id": "999",
                            "contact_name": "X",
                            "a_field_the_sandbox_lacks": "",
                        },
                    },
                },
                "/books/v3/invoices": {"status": 200, "response": {}},
            },
            "post": {
                "/books/v3/contacts": {
                    "request": {
                        "params": {"organization_id": "1"},
                        "data": {"contact_name": "Replayed Contact"},
                    },
                    "status": 201,
                    "headers": {
                        "content-type": "application/json;charset=UTF-8",
                        "location": "/api/v3/contacts/5",
                    },
                    "response": {
                        "code": 0,
                        "message": "The contact has been added.",
                        "contact": {"contact_id": "5", "status": "active", "custom_field_hash": {}},
                    },
                }
            },
        }
    }
    folder = root / "nango" / "zoho-books"
    folder.mkdir(parents=True)
    (folder / "tests__sample.test.json").write_text(json.dumps(calls))


async def test_recorded_calls_are_replayed_onto_the_seed_and_missing_keys_reported(
    tmp_path: Path,
) -> None:
    _write_reference(tmp_path)
    results = {r.call: r for r in await replay_zoho(tmp_path)}
    read = results["GET /books/v3/contacts/999"]
    assert (read.in_scope, read.status, read.content_type, read.shape) == (True, True, True, False)
    assert read.notes == ["missing keys ['contact.a_field_the_sandbox_lacks']"]
    create = results["POST /books/v3/contacts"]
    assert (create.status, create.content_type, create.shape) == (True, True, True)
    assert results["GET /books/v3/invoices"].in_scope is False
    assert "zoho" in VENDORS


@pytest.mark.process  # starts Python processes: not in make test-fast
def test_python_m_sandboxes_zoho_serves_the_default_seed_on_the_port_given() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes", "zoho", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                index = httpx.get(f"http://127.0.0.1:{port}/_sandbox", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None
                assert time.monotonic() < deadline, "the sandbox never answered"
                time.sleep(0.05)  # poll
        assert index.json()["vendor"] == "zoho"
        contacts = httpx.get(f"http://127.0.0.1:{port}/_sandbox/state/contacts").json()
        assert len(contacts) == 15
        credentials = httpx.post(f"http://127.0.0.1:{port}/_sandbox/credentials").json()
        assert set(credentials) == {
            "client_id",
            "client_secret",
            "redirect_uri",
            "organization_id",
            "region",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
