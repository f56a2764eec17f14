"""The BILL conformance replayer (fed a hand-written mini collection) and the CLI registration."""

from __future__ import annotations

import json
from pathlib import Path

from sandboxes import available_vendors, sandbox_factory
from sandboxes.bill.app import BillSandbox
from sandboxes.bill.conformance import replay_bill


def _request(name: str, method: str, path: str, code: int, body: object) -> dict[str, object]:
    return {
        "name": name,
        "request": {
            "method": method,
            "header": [{"key": "sessionId", "value": "{{session_id}}"}],
            "url": {"host": ["{{baseUrl}}"], "path": path.split("/")},
        },
        "response": [
            {
                "code": code,
                "header": [{"key": "Content-Type", "value": "application/json"}],
                "body": json.dumps(body),
            },
        ],
    }


def _write_collection(root: Path) -> None:
    collection = {
        "item": [
            {
                "name": "vendors",
                "item": [
                    _request(
                        "Get list of vendors",
                        "GET",
                        "v3/vendors",
                        200,
                        {"nextPage": "x", "results": [{"id": "s", "name": "s", "archived": True}]},
                    ),
                    _request(
                        "Get vendor details",
                        "GET",
                        "v3/vendors/:vendorId",
                        200,
                        {"id": "s", "name": "s", "colour": "s"},
                    ),
                    _request("Get list of budgets", "GET", "v3/spend/budgets", 200, {}),
                ],
            },
        ]
    }
    (root / "bill").mkdir()
    (root / "bill" / "BILL_v3_API.postman_collection.json").write_text(json.dumps(collection))


async def test_the_collection_examples_are_replayed_and_compared(tmp_path: Path) -> None:
    _write_collection(tmp_path)
    results = {r.call.split(" (")[0]: r for r in await replay_bill(tmp_path)}
    listed = results["GET /connect/v3/vendors"]
    assert listed.in_scope
    assert listed.status
    assert listed.shape
    detail = results["GET /connect/v3/vendors/:vendorId"]
    assert detail.status
    assert not detail.shape
    assert detail.notes == ["missing keys ['colour']"]
    assert not results["GET /connect/v3/spend/budgets"].in_scope


async def test_a_reference_folder_without_the_collection_replays_nothing(tmp_path: Path) -> None:
    assert await replay_bill(tmp_path) == []


async def test_bill_is_available_to_python_m_sandboxes() -> None:
    assert "bill" in available_vendors()
    sandbox = sandbox_factory("bill")(empty=True)
    assert isinstance(sandbox, BillSandbox)
    assert sandbox.state.records("vendors") == []
    await sandbox.aclose()
