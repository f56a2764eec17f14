"""`python -m sandboxes`: one vendor or all of them as real servers on the ports asked for."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devstack.ports import free_port, free_port_run
from sandboxes import VENDORS

# Starts Python processes (seconds each): left out of `make test-fast`.
pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def _running(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            assert process.poll() is None, process.stdout.read() if process.stdout else b""
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.05)  # poll


def test_one_vendor_runs_on_the_port_given_with_its_default_seed() -> None:
    port = free_port()
    with _running("bamboohr", "--port", str(port)) as process:
        index = _wait_for(f"http://127.0.0.1:{port}/_sandbox", process)
        assert index.json()["vendor"] == "bamboohr"
        employees = httpx.get(f"http://127.0.0.1:{port}/_sandbox/state/employees").json()
        assert len(employees) == 40


def test_empty_and_seed_file_options_replace_the_default_seed(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"employees": [{"id": "7", "firstName": "Solo"}]}))
    port = free_port()
    with _running("bamboohr", "--port", str(port), "--seed", str(seed)) as process:
        _wait_for(f"http://127.0.0.1:{port}/_sandbox", process)
        employees = httpx.get(f"http://127.0.0.1:{port}/_sandbox/state/employees").json()
        assert employees == [{"id": "7", "firstName": "Solo"}]
    port = free_port()
    with _running("bamboohr", "--port", str(port), "--empty") as process:
        _wait_for(f"http://127.0.0.1:{port}/_sandbox", process)
        assert httpx.get(f"http://127.0.0.1:{port}/_sandbox/state/employees").json() == []


def test_all_runs_every_built_sandbox_from_the_base_port_in_vendor_order() -> None:
    base = free_port_run(len(VENDORS))
    with _running("all", "--base-port", str(base)) as process:
        index = _wait_for(f"http://127.0.0.1:{base}/_sandbox", process)
        assert index.json()["vendor"] == "bamboohr"
