"""A vendor service whose state store is open to other users exits 2 with the chmod.

``run_service`` opens the store before the broker, so no Kafka is needed to see it refuse.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.runtime.vault import generate_key_ring_entry

ROOT = Path(__file__).resolve().parents[3]

# Starts Python processes (seconds each): left out of `make test-fast`.
pytestmark = pytest.mark.process

SERVICE = """
import sys
from services.runtime.service_main import run_service
from services.runtime.settings import RuntimeSettings

async def wire(parts):
    raise AssertionError("wired although the store was refused")

sys.exit(run_service(RuntimeSettings, wire))
"""


def test_a_service_exits_2_naming_the_file_its_mode_and_the_chmod(tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    store.touch()
    store.chmod(0o640)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}

    result = subprocess.run(
        [sys.executable, "-c", SERVICE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={
            **clean,
            "MLC_SERVICE_NAME": "probe",
            "MLC_DATABASE_URL": f"sqlite+aiosqlite:///{store}",
            "MLC_MASTER_KEYS": generate_key_ring_entry("k1"),
        },
    )

    assert result.returncode == 2, result.stderr
    assert f"probe: the state store is open to other users: {store} has mode 0640" in (
        result.stderr
    )
    assert result.stderr.rstrip().endswith(f"chmod 600 {store}")
    assert "Traceback" not in result.stderr
