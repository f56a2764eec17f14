"""A store open to other users stops the ingest and ``mlc`` with the chmod, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.runtime.vault import generate_key_ring_entry

# Starts Python processes (seconds each): left out of `make test-fast`.
pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[3]


def _world_readable_store(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    path.touch()
    path.chmod(0o644)
    return path


def _run(argv: list[str], store: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={
            **clean,
            "MLC_DATABASE_URL": f"sqlite+aiosqlite:///{store}",
            "MLC_MASTER_KEYS": generate_key_ring_entry("k1"),
            "MLC_OPERATOR_TOKEN": "operator-token-for-the-test",
        },
    )


def test_the_ingest_exits_2_naming_the_file_its_mode_and_the_chmod(tmp_path: Path) -> None:
    store = _world_readable_store(tmp_path)

    result = _run(["-m", "services.ingest"], store)

    assert result.returncode == 2, result.stderr
    assert f"services.ingest: the state store is open to other users: {store} has mode 0644" in (
        result.stderr
    )
    assert result.stderr.rstrip().endswith(f"chmod 600 {store}")
    assert "Traceback" not in result.stderr


def test_mlc_store_migrate_exits_1_naming_the_chmod(tmp_path: Path) -> None:
    store = _world_readable_store(tmp_path)

    result = _run(["-m", "mlc", "store", "migrate"], store)

    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("mlc: the state store is open to other users")
    assert f"chmod 600 {store}" in result.stderr
    assert "Traceback" not in result.stderr
