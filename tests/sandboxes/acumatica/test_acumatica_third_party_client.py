"""A client we did not write: easy-acumatica (PyPI) builds itself from our swagger.json.

It signs in with a cookie session, reads `GET /entity`, downloads the endpoint's
swagger.json, generates its models and services from it, and calls them; only the base URL
points at the sandbox. It is synchronous (requests), so it runs in a worker thread while the
sandbox serves on a real socket.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.acumatica.seed import API_PASSWORD, API_USER
from sandboxes.kit import build_app, serve
from tests.sandboxes.acumatica.acumatica_helpers import INSTANCE, quiet_sandbox

easy_acumatica = pytest.importorskip(
    "easy_acumatica", reason="missing optional dependency: easy-acumatica (dev)"
)


def _drive(base_url: str, control: str, cache: Path) -> dict[str, Any]:
    from easy_acumatica.odata import F, QueryOptions  # noqa: PLC0415 - optional dev dependency

    client = easy_acumatica.AcumaticaClient(
        base_url=base_url,
        username=API_USER,
        password=API_PASSWORD,
        tenant="AcmeLive",
        branch="HQ",
        endpoint_version="24.200.001",
        cache_methods=False,
        cache_dir=cache,
        rate_limit_calls_per_second=100.0,
    )
    try:
        active = client.employee.get_list(
            options=QueryOptions(filter=F.Status == "Active", expand=["ContactInfo"])
        )
        models = client.models
        hire = models.Employee(
            ContactInfo=models.Contact(
                FirstName="Ava", LastName="Nguyen", Email="ava.nguyen@acmecreative.example"
            ),
            EmployeeSettings=models.EmployeeSettings(DepartmentID="ADMIN"),
        )
        created = client.employee.put_entity(hire)
        # Ten idle minutes end the session; the client signs in again on the 401.
        httpx.post(f"{control}/_sandbox/clock", json={"advance_seconds": 601})
        again = client.employee.get_by_keys(EmployeeID=created["EmployeeID"]["value"])
        return {"active": active, "created": created, "again": again}
    finally:
        client.logout()


async def test_easy_acumatica_builds_itself_from_the_swagger_and_works_unchanged(
    tmp_path: Path,
) -> None:
    sandbox = quiet_sandbox()
    async with serve(build_app(sandbox)) as server:
        result = await asyncio.to_thread(
            _drive, f"{server.base_url}{INSTANCE}", server.base_url, tmp_path
        )
        async with httpx.AsyncClient(base_url=server.base_url) as control:
            log = (await control.get("/_sandbox/requests")).json()
    active = result["active"]
    assert len(active) == 4
    assert all(row["Status"] == {"value": "Active"} for row in active)
    assert active[0]["ContactInfo"]["Email"]["value"].endswith("@acmecreative.example")
    assert result["created"]["EmployeeID"] == {"value": "EP00000007"}
    assert result["again"]["EmployeeName"] == {"value": "Ava Nguyen"}
    paths = [(entry["method"], entry["path"]) for entry in log]
    assert ("GET", f"{INSTANCE}/entity/Default/24.200.001/swagger.json") in paths
    logins = [p for p in paths if p == ("POST", f"{INSTANCE}/entity/auth/login")]
    assert len(logins) == 2
    assert paths[-1] == ("POST", f"{INSTANCE}/entity/auth/logout")
