"""The FreshBooks conformance replay, fed a small hand-written reference (never ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

from sandboxes.freshbooks.conformance import replay_freshbooks


def _write_reference(root: Path) -> None:
    calls = {
        "api": {
            "get": {
                "/accounting/account/Xy12/expenses/expenses/777": {
                    "status": 200,
                    "headers": {"content-type": "application/json"},
                    "response": {"response": {"result": {"expense": {
                        "id": 777, "expenseid": 777, "amount": {"amount": "1.00", "code": "USD"},
                        "staffid": 1, "categoryid": 5, "vis_state": 0, "updated": "x",
                        "a_field_the_sandbox_lacks": None}}}},
                },
                "/accounting/account/Xy12/invoices/invoices": {"status": 200, "response": {}},
            },
            "put": {
                "/accounting/account/Xy12/expenses/expenses/778": {
                    "request": {"data": {"expense": {"vis_state": 1}}},
                    "status": 200,
                    "headers": {"content-type": "application/json"},
                    "response": {"response": {"result": {"expense": {"id": 778, "vis_state": 1}}}},
                }
            },
        }
    }  # fmt: skip
    folder = root / "nango" / "freshbooks"
    folder.mkdir(parents=True)
    (folder / "tests__sample.test.json").write_text(json.dumps(calls))


async def test_recorded_calls_are_mapped_onto_the_seed_and_missing_keys_are_reported(
    tmp_path: Path,
) -> None:
    _write_reference(tmp_path)
    results = {r.call: r for r in await replay_freshbooks(tmp_path)}
    read = results["GET /accounting/account/Xy12/expenses/expenses/777"]
    assert (read.in_scope, read.status, read.content_type, read.shape) == (True, True, True, False)
    assert read.notes == ["missing keys ['a_field_the_sandbox_lacks']"]
    delete = results["PUT /accounting/account/Xy12/expenses/expenses/778"]
    assert (delete.status, delete.shape) == (True, True)
    assert results["GET /accounting/account/Xy12/invoices/invoices"].in_scope is False
