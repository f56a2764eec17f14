"""PyBambooHR (a client we did not write) drives the sandbox with only its base URL changed."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.seed import ADMIN_API_KEY
from tests.sandboxes.bamboohr.bamboo_helpers import ACTIVE_EMPLOYEE
from tests.sandboxes.sandbox_harness import run_over_socket as over_socket_client

PyBambooHR = pytest.importorskip(
    "PyBambooHR.PyBambooHR", reason="missing optional dependency: PyBambooHR (dev)"
)


async def test_pybamboohr_reads_creates_updates_and_polls_through_the_gateway_form() -> None:
    async with over_socket_client(BambooHRSandbox()) as client:
        bamboo = PyBambooHR.PyBambooHR(subdomain="acme", api_key=ADMIN_API_KEY)
        bamboo.base_url = f"{client.base_url}/api/gateway.php/acme/v1/"

        def drive() -> dict[str, object]:
            since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)
            employee = bamboo.get_employee(ACTIVE_EMPLOYEE, ["firstName", "lastName", "department"])
            directory = bamboo.get_employee_directory()
            created = bamboo.add_employee({"first_name": "Rin", "last_name": "Sato"})
            updated = bamboo.update_employee(created["id"], {"job_title": "Designer"})
            changes = bamboo.get_employee_changes(since=since)
            report = bamboo.request_custom_report(["firstName", "status"], report_format="json")
            lists = bamboo.get_meta_lists()
            return {
                "employee": employee,
                "directory": directory,
                "created": created,
                "updated": updated,
                "changes": changes,
                "report": report,
                "lists": lists,
            }

        results = await asyncio.to_thread(drive)
        assert results["employee"] == {
            "id": ACTIVE_EMPLOYEE,
            "firstName": "Liam",
            "lastName": "Walsh",
            "department": "Creative",
        }
        assert isinstance(results["directory"], list)
        assert len(results["directory"]) == 36
        created = results["created"]
        assert isinstance(created, dict)
        assert created["id"] == "141"
        assert results["updated"] is True
        changes = results["changes"]
        assert isinstance(changes, dict)
        assert changes["employees"]["141"]["action"] == "Inserted"
        report = results["report"]
        assert isinstance(report, dict)
        assert len(report["employees"]) == 41
        state = (await client.get("/_sandbox/state/employees")).json()
        rin = next(e for e in state if e["id"] == "141")
        assert (rin["firstName"], rin["jobTitle"]) == ("Rin", "Designer")
