"""A stack's vendor services as processes a test can SIGKILL and start again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import BackgroundProcess, ProcessTable
from devstack.stack import ROOT, StackPlan
from sandboxes.kit import wait_until

__all__ = ["ServiceProcesses"]


@dataclass(frozen=True, slots=True)
class ServiceProcesses:
    """The processes of the stack ``plan`` started (its run dir's process table)."""

    plan: StackPlan

    def process(self, name: str) -> BackgroundProcess:
        running = ProcessTable(self.plan.run_dir).get(name)
        assert running is not None, f"the {name} service is not running"
        return running

    def running(self, name: str) -> bool:
        return ProcessTable(self.plan.run_dir).get(name) is not None

    def as_started(self, name: str) -> tuple[BackgroundProcess, dict[str, str]]:
        """The running service and its environment: what :meth:`restart` needs later."""
        process = self.process(name)
        return process, _environment(process.pid)

    def kill(self, name: str) -> tuple[BackgroundProcess, dict[str, str]]:
        """SIGKILL the service (no shutdown at all); its process and environment, to restart it.

        The environment is the one the stack gave it, read back from ``/proc``: the
        restarted process is then configured exactly like the killed one.
        """
        victim = self.process(name)
        env = _environment(victim.pid)
        os.kill(victim.pid, signal.SIGKILL)
        return victim, env

    async def restart(self, victim: BackgroundProcess, env: dict[str, str]) -> BackgroundProcess:
        """Start the killed service again, the same command, and wait until it says so."""
        table = ProcessTable(self.plan.run_dir)
        await wait_until(
            lambda: table.get(victim.name) is None,
            timeout_seconds=10,
            message=f"{victim.name} gone",
        )
        with contextlib.suppress(ChildProcessError):  # our child: reap it, leave no zombie
            await asyncio.to_thread(os.waitpid, victim.pid, 0)
        started = table.start(victim.name, victim.argv, env=env, cwd=ROOT)

        def says_started() -> bool:
            if b"service.started" in started.log.read_bytes():
                return True
            code = table.exit_code(started)
            assert code is None, f"{victim.name} exited with status {code}: {log_tail()}"
            return False

        def log_tail() -> str:
            return started.log.read_text(errors="replace")[-4000:]

        await wait_until(
            says_started,
            # Its consumers join the group only once the killed ones' sessions expired.
            timeout_seconds=120,
            interval_seconds=0.2,
            message="service restarted",
            details=log_tail,
        )
        return started


def _environment(pid: int) -> dict[str, str]:
    """A process's environment, read back from ``/proc``."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
