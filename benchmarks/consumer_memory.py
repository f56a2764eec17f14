"""Benchmark 6: peak resident memory of a consumer process after handling a backlog.

The consumer is :mod:`benchmarks.consumer_process`, started as its own Python
process so the reading is of a service, not of the benchmark runner.
"""

from __future__ import annotations

import asyncio
import sys

import orjson

from benchmarks.consumer_process import RESULT_PREFIX
from benchmarks.kafka import ROOT, unique_name
from benchmarks.results import Measurement, Target

__all__ = ["TARGETS", "measure_consumer_memory"]

TARGETS = {
    "peak": Target(
        150,
        "at_most",
        "a dozen service processes must fit in 2 GB next to Kafka (here about 120 MB, of which "
        "about 95 MB is the interpreter with the runtime kit imported, before any message)",
    ),
}


async def measure_consumer_memory(
    bootstrap: str, topic: str, *, count: int, timeout_s: float = 120.0
) -> list[Measurement]:
    """Peak RSS of a child consumer that handled ``count`` messages already on ``topic``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.consumer_process",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--group",
        unique_name("bench-memory"),
        "--count",
        str(count),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    results = [line for line in out.decode().splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode != 0 or not results:
        msg = (
            f"the consumer process failed (exit {process.returncode}):\n"
            f"{err.decode(errors='replace')[-2000:]}"
        )
        raise RuntimeError(msg)
    readings = orjson.loads(results[-1].removeprefix(RESULT_PREFIX))
    return [
        Measurement(
            f"consumer process peak RSS after {count:,} messages",
            float(readings["peak_rss_mb"]),
            "MB",
            TARGETS["peak"],
            note=f"{readings['rss_before_mb']:.0f} MB after imports, before the broker started",
        )
    ]
