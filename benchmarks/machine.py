"""The machine a run measured, so a result is never read without its context."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Machine", "describe_machine"]


@dataclass(frozen=True, slots=True)
class Machine:
    cores: int
    cpu_model: str
    memory_gb: float
    python: str
    system: str
    load_average: tuple[float, float, float]

    def rows(self, *, kafka: str) -> list[tuple[str, str]]:
        """(what, value) pairs for the report, the broker's description included."""
        one, five, fifteen = self.load_average
        return [
            ("CPU", f"{self.cpu_model}, {self.cores} cores"),
            ("memory", f"{self.memory_gb:.1f} GB"),
            ("system", self.system),
            ("Python", self.python),
            ("Kafka", kafka),
            ("load average at start (1, 5, 15 min)", f"{one:.2f}, {five:.2f}, {fifteen:.2f}"),
        ]


def _proc_field(path: str, name: str) -> str | None:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def describe_machine() -> Machine:
    """Cores, CPU model, memory, Python and system of this machine, and its load now."""
    memory_kib = _proc_field("/proc/meminfo", "MemTotal")
    memory_gb = int(memory_kib.split()[0]) / 1024 / 1024 if memory_kib else 0.0
    return Machine(
        cores=os.cpu_count() or 1,
        cpu_model=_proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        memory_gb=memory_gb,
        python=f"{platform.python_implementation()} {sys.version.split()[0]}",
        system=f"{platform.system()} {platform.release()}",
        load_average=os.getloadavg(),
    )
