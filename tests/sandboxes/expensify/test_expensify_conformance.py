"""The Expensify conformance replay, fed a small hand-written reference (never ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

from sandboxes.expensify.conformance import replay_expensify

PREFIX = "mocks_nango_post_proxy_ExpensifyIntegrations_"


def _write_reference(root: Path) -> None:
    folder = root / "nango" / "expensify"
    folder.mkdir(parents=True)
    bodies = {
        f"{PREFIX}list-policies.json": {"policyList": [{"id": "X", "name": "n", "role": "admin",
                                                        "aFlagTheSandboxLacks": 1}],
                                        "responseCode": 200},
        f"{PREFIX}users.json": {"policyInfo": {"0123456789ABCDEF": {"employees": [
            {"email": "a@b.c", "role": "user", "submitsTo": "d@b.c"}]}}, "responseCode": 200},
        "mocks_list-policies_output.json": {"policies": []},
    }  # fmt: skip
    for name, body in bodies.items():
        (folder / name).write_text(json.dumps(body))


async def test_recorded_answers_are_replayed_and_missing_keys_are_reported(
    tmp_path: Path,
) -> None:
    _write_reference(tmp_path)
    results = {r.call: r for r in await replay_expensify(tmp_path)}
    endpoint = "POST /Integration-Server/ExpensifyIntegrations"
    listed = results[f"{endpoint} (list-policies)"]
    assert (listed.in_scope, listed.status, listed.content_type, listed.shape) == (
        True, True, True, False,
    )  # fmt: skip
    assert listed.notes == ["missing keys ['policyList.aFlagTheSandboxLacks']"]
    users = results[f"{endpoint} (users)"]
    assert (users.status, users.shape) == (True, True)
    assert results["mocks_list-policies_output.json"].in_scope is False
