"""`make demo` must keep working: run it against the test session's broker."""

from __future__ import annotations

import asyncio
import os
import sys


async def test_the_demo_applies_a_new_hire_once_and_prints_its_audit_chain(
    kafka_bootstrap: str,
) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    env.pop("MLC_KAFKA_BOOTSTRAP_SERVERS", None)
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.demo",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(demo.communicate(), timeout=120)
    text = output.decode()
    assert demo.returncode == 0, text
    assert "OK: applied once, the duplicate answered 'unchanged'." in text
    chain = [line.strip() for line in text.splitlines() if line.lstrip().startswith("- ")]
    assert [line.split(" ")[1] for line in chain] == [
        "EmployeeChanged",
        "EmployeeChanged",
        "SyncOutcome",
        "SyncOutcome",
    ]
