"""Expensify part of `make conformance`: replay Nango's recorded Expensify answers.

Nango keeps Expensify's answers as bare bodies of proxied POSTs to the one endpoint
(`mocks_nango_post_proxy_ExpensifyIntegrations_<action>.json`), without the request; the job
each action sends is rebuilt here from Nango's action names (list-policies, users,
create-user, disable-user), with the recorded policy id mapped onto the default seed. The
answer must be HTTP 200 JSON with the recorded `responseCode`, every recorded top-level key,
and every key of the recorded first list item / policy entry. Nango's own output models
(`mocks_<action>_output.json`) and input fixtures are not vendor answers: out of scope.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from sandboxes.expensify.app import ENDPOINT, build_sandbox
from sandboxes.kit import build_app
from sandboxes.kit.conformance import CallResult, Conformance

__all__ = ["CONFORMANCE", "replay_expensify"]

RECORDING = re.compile(r"^mocks_nango_post_proxy_ExpensifyIntegrations_(?P<action>[a-z-]+)\.json")


def _job(action: str, credentials: dict[str, str], policy_id: str) -> tuple[dict[str, Any], str]:
    """The job Nango's action sends, and its `data` form field."""
    if action == "list-policies":
        return {"type": "get", "credentials": credentials,
                "inputSettings": {"type": "policyList"}}, ""  # fmt: skip
    if action == "users":
        return {"type": "get", "credentials": credentials,
                "inputSettings": {"type": "policy", "policyIDList": [policy_id],
                                  "fields": ["employees"]}}, ""  # fmt: skip
    person: dict[str, object] = {
        "employeeEmail": "john.doe@acmecreative.example", "policyID": policy_id,
        "managerEmail": "ava.nguyen@acmecreative.example", "employeeID": "6afbb03d648e5",
        "firstName": "John", "lastName": "Doe", "customField2": "John Doe",
    }  # fmt: skip
    if action == "disable-user":
        person["isTerminated"] = True
    update = {"type": "update", "credentials": credentials, "dataSource": "request",
              "inputSettings": {"type": "employees", "entity": "generic"}}  # fmt: skip
    return update, json.dumps([person])


def _first(value: object) -> object:
    """The first list item, or the first entry of an id-keyed object (policyInfo)."""
    if isinstance(value, list):
        return value[0] if value else None
    if isinstance(value, dict) and value and all(re.fullmatch(r"[0-9A-F]{16}", k) for k in value):
        return next(iter(value.values()))
    return None


def _compare(result: CallResult, recorded: dict[str, Any], answer: httpx.Response) -> None:
    result.status = answer.status_code == 200
    result.content_type = "json" in answer.headers.get("content-type", "")
    actual = answer.json() if result.content_type else {}
    missing = sorted(set(recorded) - set(actual))
    for key, value in recorded.items():
        inner, mine = _first(value), _first(actual.get(key))
        if isinstance(inner, dict) and isinstance(mine, dict):
            missing += [f"{key}.{k}" for k in sorted(set(inner) - set(mine))]
            deeper, own = _first(inner.get("employees")), _first(mine.get("employees"))
            if isinstance(deeper, dict) and isinstance(own, dict):
                missing += [f"{key}.employees.{k}" for k in sorted(set(deeper) - set(own))]
    code_matches = actual.get("responseCode") == recorded.get("responseCode")
    result.shape = not missing and code_matches
    if missing:
        result.notes.append(f"missing keys {missing}")
    if not code_matches:
        result.notes.append(f"responseCode {actual.get('responseCode')} != recorded")


async def replay_expensify(reference: Path) -> list[CallResult]:
    results: list[CallResult] = []
    for file in sorted((reference / "nango" / "expensify").glob("*.json")):
        match = RECORDING.match(file.name)
        if match is None:
            results.append(CallResult(call=file.name, in_scope=False))
            continue
        sandbox = build_sandbox()
        sandbox.limiter.policy = sandbox.limiter.policy.model_copy(update={"enabled": False})
        transport = httpx.ASGITransport(app=build_app(sandbox))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
            creds = (await client.post("/_sandbox/credentials")).json()
            credentials = {"partnerUserID": creds["partner_user_id"],
                           "partnerUserSecret": creds["partner_user_secret"]}  # fmt: skip
            if match["action"] == "disable-user":
                enable, data = _job("create-user", credentials, creds["policy_id"])
                await client.post(ENDPOINT, data={"requestJobDescription": json.dumps(enable),
                                                  "data": data})  # fmt: skip
            description, data = _job(match["action"], credentials, creds["policy_id"])
            form = {"requestJobDescription": json.dumps(description)}
            if data:
                form["data"] = data
            answer = await client.post(ENDPOINT, data=form)
        await sandbox.aclose()
        result = CallResult(call=f"POST {ENDPOINT} ({match['action']})", in_scope=True)
        _compare(result, json.loads(file.read_text(encoding="utf-8")), answer)
        results.append(result)
    return results


CONFORMANCE = Conformance("nango/expensify", replay_expensify)
