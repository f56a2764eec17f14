"""The stack's run dir is owner-only and its secret files 0600, whatever the umask.

``.run/`` holds the state store, the vault key ring, the operator token,
stack.json and the logs (issue 10, defect 7 found ``.run/`` at 0755).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import (
    _private_run_dir,
    _secret_file,
    _write_owner_only,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    """The process umask for one test, restored after it (``tmp_path`` exists before it)."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def test_the_demo_run_dir_and_its_missing_parent_are_made_0700(umask: int, tmp_path: Path) -> None:
    run_dir = tmp_path / ".run" / "demo"

    _private_run_dir(run_dir)

    assert _mode(tmp_path / ".run") == 0o700
    assert _mode(run_dir) == 0o700


def test_an_earlier_stacks_wide_run_dir_and_secrets_are_tightened(
    umask: int, tmp_path: Path
) -> None:
    run_dir = tmp_path / ".run"
    run_dir.mkdir()
    run_dir.chmod(0o755)
    secrets = ["state.db", "state.db-wal", "state.db-shm", "master_keys", "operator_token"]
    for name in [*secrets, "stack.json"]:
        (run_dir / name).write_text("x")
        (run_dir / name).chmod(0o644)

    _private_run_dir(run_dir)

    assert _mode(run_dir) == 0o700
    assert {name: _mode(run_dir / name) for name in [*secrets, "stack.json"]} == dict.fromkeys(
        [*secrets, "stack.json"], 0o600
    )


def test_a_new_secret_file_is_0600_and_kept_for_the_next_start(umask: int, tmp_path: Path) -> None:
    path = tmp_path / ".run" / "operator_token"

    made = _secret_file(path, lambda: "s3cret")

    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert _secret_file(path, lambda: "another") == made == "s3cret"


def test_an_existing_wide_secret_file_is_tightened_when_read(tmp_path: Path) -> None:
    path = tmp_path / "master_keys"
    path.write_text("k1:key\n")
    path.chmod(0o644)

    assert _secret_file(path, lambda: "unused") == "k1:key"
    assert _mode(path) == 0o600


def test_stack_json_is_written_0600_new_or_replacing_a_wide_one(umask: int, tmp_path: Path) -> None:
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    old.write_bytes(b'{"operator_token": "old and longer than the new one"}')
    old.chmod(0o644)

    _write_owner_only(new, b"{}\n")
    _write_owner_only(old, b"{}\n")

    assert (_mode(new), _mode(old)) == (0o600, 0o600)
    assert new.read_bytes() == old.read_bytes() == b"{}\n"
