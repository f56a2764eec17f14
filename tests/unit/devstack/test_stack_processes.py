"""The stack's process table stops exactly what it started, and stack.json has its keys."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import orjson

from devstack.processes import ProcessTable
from devstack.stack import StackInfo, running_ops_urls

# A child process that just stays alive to be stopped; nothing waits on it.
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]  # poll: not a wait


def test_a_started_process_is_found_again_and_stopped(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    started = table.start("sleeper", SLEEPER, env=os.environ, cwd=tmp_path)

    assert table.get("sleeper") == started
    assert table.start("sleeper", SLEEPER, env=os.environ, cwd=tmp_path) == started
    assert table.stop("sleeper") is True

    assert table.get("sleeper") is None
    assert not Path(f"/proc/{started.pid}").exists()
    assert table.names() == []


def test_a_pid_file_naming_someone_elses_process_is_never_signalled(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    table.pids.mkdir(parents=True)
    # Our own pid, recorded with a command line that is not ours: a recycled pid.
    record = {"pid": os.getpid(), "argv": ["not", "this", "process"], "log": "x.log"}
    (table.pids / "impostor.json").write_bytes(orjson.dumps(record))

    assert table.get("impostor") is None
    assert table.stop("impostor") is False  # and we are still here to assert it
    assert table.names() == []


def test_stack_json_holds_exactly_the_documented_keys() -> None:
    info = StackInfo(
        kafka="127.0.0.1:9092",
        ingest="http://127.0.0.1:8080",
        operator_token="t",
        sandboxes={"bamboohr": "http://127.0.0.1:9101"},
        connections={"bamboohr": "b", "freshbooks": "f"},
        links=[{"id": "l", "flow": "people-freshbooks", "source": "b", "target": "f"}],
        services={"bamboohr": "running"},
        database_url="sqlite+aiosqlite:///x",
    )
    assert info.control == info.ingest  # one process serves both unless the plan splits them
    assert list(info.document()) == [
        "kafka",
        "ingest",
        "control",
        "operator_token",
        "sandboxes",
        "connections",
        "links",
        "ops",
    ]


def test_running_ops_urls_name_each_running_process_s_newest_start(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    # A service restarted after a kill: its log holds both starts, the newest port counts.
    restarted = table.start("zoho", SLEEPER, env=os.environ, cwd=tmp_path)
    restarted.log.write_bytes(
        b'{"event": "ops.listening", "port": 40001}\n{"event": "ops.listening", "port": 40002}\n'
    )
    table.start("sandbox-zoho", SLEEPER, env=os.environ, cwd=tmp_path)  # no ops port
    stopped = table.start("zoho-2", SLEEPER, env=os.environ, cwd=tmp_path)
    stopped.log.write_bytes(b'{"event": "ops.listening", "port": 40003}\n')
    try:
        table.stop("zoho-2")
        assert running_ops_urls(tmp_path) == ["http://127.0.0.1:40002"]
    finally:
        table.stop("zoho")
        table.stop("sandbox-zoho")
