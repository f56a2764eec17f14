"""`make demo` must keep working: run it on the test session's broker and read what it shows."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path


async def test_the_demo_backfills_plays_a_hire_a_move_and_a_leaver_and_shows_them_in_freshbooks(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DEMO_RUN_DIR": str(tmp_path)}
    env.pop("MLC_KAFKA_BOOTSTRAP_SERVERS", None)
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devstack.demo",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(demo.communicate(), timeout=600)
    text = output.decode()
    assert demo.returncode == 0, text
    assert "OK: backfill, hire, department change and termination reached FreshBooks." in text

    # The table: 40 seeded employees and the hire, each beside a FreshBooks outcome.
    rows = re.findall(r"^(hired|moved|left|     )\s+(\d+)\s+(.*)$", text, flags=re.MULTILINE)
    assert len(rows) == 41, text
    marked = {mark: rest for mark, _, rest in rows if mark.strip()}
    assert "Ada Lovelace" in marked["hired"]
    assert "team member" in marked["hired"]
    assert "applied" in marked["hired"]
    assert "Terminated" in marked["left"]
    assert re.search(r"deleted|deactivated", marked["left"])
    moved_to = re.search(r"department change in BambooHR: .* -> (.+)$", text, flags=re.MULTILINE)
    assert moved_to is not None
    assert moved_to.group(1).strip() in marked["moved"]

    # The audit chain of the hire: what started it, the published change, the write with its id.
    chain = text.split("audit chain of the new hire", 1)[1]
    lines = [line.strip() for line in chain.splitlines() if line.lstrip().startswith("- ")]
    kinds = [line.split(" ")[1] for line in lines]
    assert kinds[0] in ("RawDelivery", "ReconcileTick")
    assert "EmployeeChanged" in kinds
    written = [line for line in lines if line.startswith("- SyncOutcome") and "applied" in line]
    assert written, chain
    assert re.search(r"-> (team_member|staff)=\S+", written[-1]), written[-1]
    # Everything it started was stopped again.
    assert not list((tmp_path / "pids").glob("*.json"))
