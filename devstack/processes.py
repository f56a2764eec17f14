"""Background processes the local stack starts, and stops again: exactly those.

Each process runs in its own session (a Ctrl-C at the terminal that ran
``make up`` does not reach it), writes to ``<logs>/<name>.log``, and is
recorded in ``<pids>/<name>.json`` with its pid and command line. Stopping
signals a pid only while ``/proc/<pid>/cmdline`` is still that command line,
so a pid the system recycled for something else is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

__all__ = ["BackgroundProcess", "ProcessTable"]

# How long a process gets to finish after SIGTERM before it is killed.
_STOP_GRACE_SECONDS = 15.0
# How long a new process gets to show its command line in /proc (see _until_exec_done).
_EXEC_GRACE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class BackgroundProcess:
    """A process this stack started."""

    name: str
    pid: int
    argv: tuple[str, ...]
    log: Path


class ProcessTable:
    """The processes of one stack, recorded under ``run_dir`` (pids/ and logs/)."""

    def __init__(self, run_dir: Path) -> None:
        self.pids = run_dir / "pids"
        self.logs = run_dir / "logs"

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        append_log: bool = False,
    ) -> BackgroundProcess:
        """Start ``argv`` in the background unless ``name`` is already running.

        ``append_log`` keeps what an earlier process of that name wrote (a restart after a
        crash: its last lines are the evidence).
        """
        running = self.get(name)
        if running is not None:
            return running
        self.pids.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("ab" if append_log else "wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        started = BackgroundProcess(name, process.pid, tuple(argv), log)
        _until_exec_done(process.pid)
        record = {"pid": process.pid, "argv": list(argv), "log": str(log)}
        (self.pids / f"{name}.json").write_bytes(orjson.dumps(record))
        return started

    def get(self, name: str) -> BackgroundProcess | None:
        """The process recorded as ``name`` if it is still the one we started."""
        path = self.pids / f"{name}.json"
        try:
            record = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        process = BackgroundProcess(
            name, int(record["pid"]), tuple(record["argv"]), Path(record["log"])
        )
        return process if _is_running(process) else None

    def exit_code(self, process: BackgroundProcess) -> int | None:
        """The exit status of a child that ended, None while it runs (or is not our child)."""
        try:
            pid, status = os.waitpid(process.pid, os.WNOHANG)
        except ChildProcessError:
            return None if _is_running(process) else -1
        if pid == 0:
            return None
        return os.waitstatus_to_exitcode(status)

    def names(self) -> list[str]:
        """Every name recorded, running or not."""
        return sorted(path.stem for path in self.pids.glob("*.json"))

    def stop(self, name: str) -> bool:
        """Stop ``name`` if it is ours and running; True if it was. Forgets it either way."""
        process = self.get(name)
        (self.pids / f"{name}.json").unlink(missing_ok=True)
        if process is None:
            return False
        os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        while not _gone(process) and time.monotonic() < deadline:
            time.sleep(0.05)  # poll: wait for the process to exit, bounded by the grace period
        if not _gone(process):
            os.kill(process.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):  # our child: collect it now
                os.waitpid(process.pid, 0)
        return True


def _is_running(process: BackgroundProcess) -> bool:
    try:
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{process.pid}/stat").read_text()
    except OSError:
        return False
    # A zombie (state Z) has exited; it only waits for its parent to reap it.
    if stat.rpartition(")")[2].split()[0] == "Z":
        return False
    return cmdline.split(b"\0")[: len(process.argv)] == [a.encode() for a in process.argv]


def _until_exec_done(pid: int) -> None:
    """Wait until ``/proc/<pid>/cmdline`` holds the new program's arguments.

    ``Popen`` returns as soon as the exec began, and the kernel sets the command line
    a moment later; read in between it is empty, and :meth:`ProcessTable.get` would not
    know the process it just started. A process that exited (or died) ends the wait.
    """
    deadline = time.monotonic() + _EXEC_GRACE_SECONDS
    while time.monotonic() < deadline:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        if cmdline or stat.rpartition(")")[2].split()[0] == "Z":
            return
        time.sleep(0.001)  # poll: nothing signals the end of another process's exec


def _gone(process: BackgroundProcess) -> bool:
    """Whether the process has exited; our own child is reaped on the way."""
    try:
        pid, _ = os.waitpid(process.pid, os.WNOHANG)
    except ChildProcessError:  # started by an earlier `make up`: its exit is all we see
        return not _is_running(process)
    return pid != 0
