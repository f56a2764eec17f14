"""Every service process starts without ``rich`` and ``pygments`` in memory
(``services/lean_start.py``): each entry point is imported in a fresh interpreter, as
``python -m`` would, and what it loaded is read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.vendors import VENDORS

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = [
    *(f"services.{vendor}.__main__" for vendor in VENDORS),
    "services.ingest.__main__",
    "services.control.__main__",
    "devstack.edge_and_control",
]
LOADED = "import json, sys; print(json.dumps(sorted(m for m, v in sys.modules.items() if v)))"


def _modules_after_importing(module: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}; {LOADED}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_a_service_process_loads_structlog_without_rich(module: str) -> None:
    loaded = _modules_after_importing(module)

    assert "structlog" in loaded  # the importer of rich is there...
    assert not {name for name in loaded if name.split(".")[0] in {"rich", "pygments"}}
