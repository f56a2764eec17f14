"""`python -m benchmarks.consumer_process`: a service-shaped consumer that reports its memory.

It is what a sink process is without the vendor: runtime settings, the runtime
broker (``create_broker``, DLQ middleware) and one ``subscriber`` decoding
``EmployeeChanged``. After ``--count`` messages it prints one line,
``RESULT {json}``, with its peak and current resident set size, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from pathlib import Path

import orjson

from benchmarks.kafka import bench_broker, quiet_message_logs
from schemas import EmployeeChanged
from services.runtime import subscriber

__all__ = ["RESULT_PREFIX", "current_rss_mb", "peak_rss_mb"]

RESULT_PREFIX = "RESULT "


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """This process's resident set size now, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    msg = "/proc/self/status has no VmRSS line"
    raise RuntimeError(msg)


async def consume(bootstrap: str, topic: str, *, group: str, count: int) -> dict[str, float]:
    """Handle ``count`` messages of ``topic`` in consumer group ``group``; the memory readings."""
    before = current_rss_mb()
    handled = 0
    done = asyncio.Event()
    broker = bench_broker(bootstrap, service_name=group)

    @subscriber(broker, topic, group_id=group)
    async def note_employee(event: EmployeeChanged) -> None:
        nonlocal handled
        handled += 1
        if handled >= count:
            done.set()

    await broker.start()
    try:
        await done.wait()
    finally:
        await broker.stop()
    return {
        "handled": float(handled),
        "rss_before_mb": before,
        "rss_after_mb": current_rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.consumer_process")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, required=True)
    options = parser.parse_args(argv)
    quiet_message_logs()
    readings = asyncio.run(
        consume(options.bootstrap, options.topic, group=options.group, count=options.count)
    )
    sys.stdout.write(RESULT_PREFIX + orjson.dumps(readings).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
