"""The conformance replayer, fed a small hand-written reference folder (never ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandboxes.bamboohr.conformance import replay_bamboohr
from sandboxes.conformance import main

SPEC = """
openapi: 3.1.0
paths:
  /api/v1/employees/{id}:
    get:
      responses:
        "200":
          content:
            application/json:
              schema:
                type: object
                required: [id]
                properties:
                  id: {type: string}
                  firstName: {type: string}
"""


def _write_reference(root: Path) -> None:
    calls = {
        "api": {
            "get": {
                "/v1/employees/8": {
                    "request": {"params": {"fields": "firstName,lastName"}},
                    "status": 200,
                    "headers": {"content-type": "application/json"},
                    "response": {"id": "8", "firstName": "Victor", "lastName": "Nango"},
                },
                "/v1/time_off/requests": {"status": 200, "response": []},
            },
            "post": {
                "/v1/employees": {
                    "request": {"data": {"firstName": "Test"}},
                    "status": 201,
                    "headers": {"content-type": "application/json"},
                    "response": {"id": "121", "firstName": "Test", "lastName": "Employee"},
                }
            },
        }
    }
    folder = root / "nango" / "bamboohr-basic"
    folder.mkdir(parents=True)
    (folder / "tests__sample.test.json").write_text(json.dumps(calls))
    (root / "bamboohr").mkdir()
    (root / "bamboohr" / "bamboohr-public-openapi.yaml").write_text(SPEC)


async def test_recorded_calls_are_replayed_compared_and_validated(tmp_path: Path) -> None:
    _write_reference(tmp_path)
    results = {r.call: r for r in await replay_bamboohr(tmp_path)}
    read = results["GET /v1/employees/8"]
    assert (read.in_scope, read.status, read.content_type, read.shape, read.spec) == (
        True,
        True,
        True,
        True,
        True,
    )
    assert results["GET /v1/time_off/requests"].in_scope is False
    # The recording created with only a first name; BambooHR (and the sandbox) need both.
    create = results["POST /v1/employees"]
    assert create.status is False
    assert "status 400 != recorded 201" in create.notes


def test_a_missing_reference_folder_is_reported_not_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--reference", str(tmp_path / "absent")]) == 0
    assert "no reference folder" in capsys.readouterr().out
