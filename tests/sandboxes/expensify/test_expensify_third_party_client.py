"""A client we did not write: `expensify-client` (PyPI) with only its base URL changed.

It sends jobs as GET query parameters (as the 2014 `expensipy` did; that one is Python 2
only) and reads its template from a file. Its high-level `get_reports` renders its own YAML
template and calls `yaml.load` without a Loader, which PyYAML 6 refuses; so the test drives
its two job calls, `get_report_download_file` and `download_reports`, with our template.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from pathlib import Path
from typing import Any

from sandboxes.expensify.app import ENDPOINT
from tests.sandboxes.expensify.exp_helpers import TEMPLATE, pair, unlimited
from tests.sandboxes.sandbox_harness import Connector


def _client_class() -> Any:
    # Its module calls logging.basicConfig(level=NOTSET) on import: keep the root logger as is.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    module = importlib.import_module("expensify_client")
    root.handlers[:], root.level = handlers, level
    return module.ExpensifyClient


async def test_expensify_client_exports_and_downloads_against_the_sandbox(
    over_socket: Connector, tmp_path: Path
) -> None:
    async with over_socket(unlimited()) as client:
        credentials = await pair(client)
        expensify = _client_class()(credentials["partnerUserID"], credentials["partnerUserSecret"])
        expensify.HOST = f"{client.base_url}{ENDPOINT}".replace("//Integration", "/Integration")
        template = tmp_path / "template.ftl"
        template.write_text(TEMPLATE, encoding="utf-8")
        filters = {"reportIDList": "41000103"}
        name = await asyncio.to_thread(
            expensify.get_report_download_file, filters, "json", str(template)
        )
        assert name.endswith(".json")
        assert not template.exists()  # the library deletes its template after sending it
        content = await asyncio.to_thread(expensify.download_reports, name)
        reports = json.loads(content)
        assert [r["reportID"] for r in reports] == ["41000103"]
        assert reports[0]["expenses"][0]["categoryGlCode"] == "6110"
        log = (await client.get("/_sandbox/requests")).json()
        assert [(e["method"], e["status"]) for e in log] == [("GET", 200), ("GET", 200)]
