"""A stack's processes (the edge and control plane, every vendor service) as processes a
test or the fault suite can SIGKILL and start again, configured exactly as before."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.processes import BackgroundProcess, ProcessTable
from devstack.stack import CONTROL, INGEST, ROOT, StackPlan
from sandboxes.kit import wait_until

__all__ = ["RESTART_TIMEOUT_SECONDS", "ServiceProcesses", "log_size"]

# A restarted consumer joins its group only once the killed one's session expired.
RESTART_TIMEOUT_SECONDS = 120.0
_STARTED_MARKER = b"service.started"
# The stack's servers -> the variable naming the port whose /healthz says it is ready.
_SERVERS = {INGEST: "MLC_INGEST_PORT", CONTROL: "MLC_CONTROL_PORT"}


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

    async def start_replica(self, name: str, replica: int) -> BackgroundProcess:
        """Start another process of the vendor service ``name`` (``<name>-<replica>`` in the
        process table), configured like the running one, and wait until it says so: two
        replicas of one service, sharing its consumer groups and the store."""
        original, env = self.as_started(name)
        return await self._start_and_wait(f"{name}-{replica}", original.argv, env)

    async def restart(self, victim: BackgroundProcess, env: dict[str, str]) -> BackgroundProcess:
        """Start the killed process again, the same command, and wait until it is ready.

        Its log is appended to (the killed process's last lines stay). Ready is the edge
        or the control plane answering ``/healthz`` on its port, a vendor service logging
        that it started.
        """
        table = ProcessTable(self.plan.run_dir)
        await wait_until(
            lambda: table.get(victim.name) is None,
            timeout_seconds=10,
            message=f"{victim.name} gone",
        )
        with contextlib.suppress(ChildProcessError):  # our child: reap it, leave no zombie
            await asyncio.to_thread(os.waitpid, victim.pid, 0)
        return await self._start_and_wait(victim.name, victim.argv, env)

    async def _start_and_wait(
        self, name: str, argv: tuple[str, ...], env: dict[str, str]
    ) -> BackgroundProcess:
        table = ProcessTable(self.plan.run_dir)
        written = log_size(table.logs / f"{name}.log")
        started = table.start(name, argv, env=env, cwd=ROOT, append_log=True)

        def log_tail() -> str:
            return started.log.read_text(errors="replace")[-4000:]

        def exited() -> None:
            code = table.exit_code(started)
            assert code is None, f"{name} exited with status {code}: {log_tail()}"

        if name in _SERVERS:
            healthz = f"http://127.0.0.1:{env[_SERVERS[name]]}/healthz"

            async def ready() -> bool:
                exited()
                try:
                    async with httpx.AsyncClient(timeout=2.0) as client:
                        return (await client.get(healthz)).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(
                ready,
                timeout_seconds=RESTART_TIMEOUT_SECONDS,
                interval_seconds=0.2,
                message=f"{name} answering {healthz}",
                details=log_tail,
            )
            return started

        def says_started() -> bool:
            with started.log.open("rb") as lines:
                lines.seek(written)
                if _STARTED_MARKER in lines.read():
                    return True
            exited()
            return False

        await wait_until(
            says_started,
            timeout_seconds=RESTART_TIMEOUT_SECONDS,
            interval_seconds=0.2,
            message=f"{name} restarted",
            details=log_tail,
        )
        return started


def log_size(path: Path) -> int:
    """How many bytes a log holds now (0 when there is none yet): where new lines start."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _environment(pid: int) -> dict[str, str]:
    """A process's environment, read back from ``/proc``."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
