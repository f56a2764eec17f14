"""`python -m services.ingest` refuses a configuration it cannot use, naming what to set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Starts Python processes (seconds each): left out of `make test-fast`.
pytestmark = pytest.mark.process


def _run(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    return subprocess.run(
        [sys.executable, "-m", "services.ingest"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
        env={**clean, "MLC_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 's.db'}", **env},
    )


def test_without_a_key_ring_it_exits_2_and_names_the_variable(tmp_path: Path) -> None:
    result = _run({}, tmp_path)
    assert result.returncode == 2
    assert "MLC_MASTER_KEYS" in result.stderr


def test_a_bad_port_setting_exits_2_and_names_the_variable(tmp_path: Path) -> None:
    result = _run({"MLC_INGEST_PORT": "not-a-port"}, tmp_path)
    assert result.returncode == 2
    assert "MLC_INGEST_PORT" in result.stderr
