"""How much memory each service of a flow's stack holds after the flow's benchmarks ran
(issue 17, goal 7): a row per process the stack started, sandboxes and Kafka aside.

Read from ``/proc/<pid>/status`` after the timed changes and the backfill, which put the
most messages through each service (flow 1: 10,000 employees, every one an
``EmployeeChanged`` for the freshbooks service). The value is the resident set then
(``VmRSS``); the note gives the peak (``VmHWM``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from benchmarks.flow_stack import FlowStack
from benchmarks.results import Measurement, Target
from devstack.processes import ProcessTable

__all__ = ["measure_footprint"]

TARGET: Final = Target(
    120,
    "at_most",
    "issue 17, goal 7: a service holds at most 120 MB resident once it has handled its "
    "share of the flow's benchmarks (thousands of messages), so several fit a small node",
)
_NOT_SERVICES: Final = ("sandbox-", "kafka")


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    msg = f"/proc/{pid}/status has no {field} line"
    raise RuntimeError(msg)


def measure_footprint(stack: FlowStack, label: str, *, work: str) -> list[Measurement]:
    """A row per service process of ``stack``: resident now, peak in the note."""
    table = ProcessTable(stack.run_dir)
    rows: list[Measurement] = []
    for name in sorted(table.names()):
        process = table.get(name)
        if process is None or name.startswith(_NOT_SERVICES):
            continue
        resident = _status_mb(process.pid, "VmRSS")
        peak = _status_mb(process.pid, "VmHWM")
        rows.append(
            Measurement(
                f"{label}: {name} resident after the run",
                resident,
                "MB",
                TARGET,
                note=f"after {work}; peak {peak:.0f} MB",
            )
        )
    return rows
