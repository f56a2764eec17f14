"""`python -m services.demo` (what `make demo` runs).

1. starts a local Kafka (its own data dir and a free port), unless
   MLC_KAFKA_BOOTSTRAP_SERVERS or KAFKA_BOOTSTRAP_SERVERS names a running one;
2. creates the catalog's topics;
3. starts the demo service as its own process;
4. publishes a new hire as an EmployeeChanged event, then the same revision
   again as a duplicate delivery would;
5. waits for the service's outcomes and prints the audit chain read back
   from the log;
6. stops what it started. Exit status 0 only if the chain is as expected.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from schemas import EmployeeChanged
from schemas.topics import Topic
from services.demo.handlers import DEMO_DLQ_TOPIC
from services.runtime import (
    AuditEntry,
    RuntimeSettings,
    create_broker,
    ensure_topics,
    format_chain,
    load_settings,
    publish,
    read_chain,
)

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / ".run" / "demo"
KAFKA_DIR = RUN_DIR / "kafka"
DEADLINE_SECONDS = 60.0
CHAIN_TOPICS = ("people.employee", "sync.outcome")


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_kafka() -> tuple[str, dict[str, str]]:
    port = free_port()
    env = {**os.environ, "KAFKA_DATA_DIR": str(KAFKA_DIR), "KAFKA_PORT": str(port)}
    # A fresh log each run: the demo's chain is then the only one on its topics.
    shutil.rmtree(KAFKA_DIR, ignore_errors=True)
    subprocess.run([str(ROOT / "deploy/kafka/start.sh")], check=True, env=env)  # noqa: S603
    return f"127.0.0.1:{port}", env


def stop_kafka(env: dict[str, str]) -> None:
    subprocess.run([str(ROOT / "deploy/kafka/stop.sh")], check=False, env=env)  # noqa: S603


def new_hire(occurred_at: datetime) -> EmployeeChanged:
    return EmployeeChanged(
        connection_id="demo-bamboohr",
        occurred_at=occurred_at,
        source_updated_at=occurred_at,
        employee_id="4711",
        status="active",
        first_name="Ada",
        last_name="Lovelace",
        work_email="ada.lovelace@example.com",
        department="Engineering",
        division="Delivery",
        job_title="Analyst",
        hire_date=date(2026, 11, 23),
        changed_fields=("status", "department", "job_title", "hire_date"),
    )


async def wait_for_outcomes(bootstrap: str, correlation_id: str, count: int) -> list[AuditEntry]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        chain = await read_chain(bootstrap, correlation_id, topics=CHAIN_TOPICS)
        outcomes = [e for e in chain if e.event.get("type") == "SyncOutcome"]
        if len(outcomes) >= count:
            return chain
        if time.monotonic() > deadline:
            msg = (
                f"the demo service answered {len(outcomes)} of {count} events "
                f"in {DEADLINE_SECONDS:.0f} s"
            )
            raise TimeoutError(msg)
        await asyncio.sleep(0.5)  # poll: the log is re-read until the outcomes are there


async def run_demo(bootstrap: str) -> bool:
    step(f"creating the catalog's topics on {bootstrap}")
    ensured = await ensure_topics(bootstrap)
    await ensure_topics(
        bootstrap, [Topic(DEMO_DLQ_TOPIC, ("DeadLetter",), "demo DLQ", partitions=1)]
    )
    print(f"    {len(ensured.created)} created, {len(ensured.existing)} already there")

    step("starting the demo service (python -m services.demo.worker)")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    database = RUN_DIR / "state.db"
    database.unlink(missing_ok=True)
    worker_env = {
        **os.environ,
        "MLC_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MLC_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    log_path = RUN_DIR / "worker.log"
    with log_path.open("wb") as worker_log:
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.demo.worker",
            env=worker_env,
            stdout=worker_log,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        settings: RuntimeSettings = load_settings()
        settings = settings.model_copy(update={"kafka_bootstrap_servers": bootstrap})
        broker = create_broker(settings, dead_letter_topic=DEMO_DLQ_TOPIC)
        await broker.connect()
        try:
            step("publishing a new hire to people.employee")
            hire = await publish(broker, new_hire(datetime.now(UTC)))
            step("publishing the same revision again, as a duplicated webhook would")
            await publish(broker, hire, cause=hire)
        finally:
            await broker.stop()

        step("waiting for the service's outcomes on sync.outcome")
        chain = await wait_for_outcomes(bootstrap, str(hire.event_id), count=2)
    finally:
        step("stopping the demo service")
        worker.terminate()
        await asyncio.wait_for(worker.wait(), timeout=30)

    step(f"audit chain of correlation id {hire.event_id}")
    print(format_chain(chain))
    statuses = [str(e.event.get("status")) for e in chain if e.event.get("type") == "SyncOutcome"]
    expected = sorted(statuses) == ["applied", "unchanged"]
    print(
        "\nOK: applied once, the duplicate answered 'unchanged'."
        if expected
        else f"\nUNEXPECTED outcomes {statuses}; worker log: {log_path}"
    )
    return expected


def main() -> int:
    external = os.environ.get("MLC_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get(
        "KAFKA_BOOTSTRAP_SERVERS"
    )
    if external:
        step(f"using the running Kafka at {external}")
        return 0 if asyncio.run(run_demo(external)) else 1
    step("starting a local Apache Kafka (deploy/kafka/start.sh)")
    bootstrap, env = start_kafka()
    try:
        return 0 if asyncio.run(run_demo(bootstrap)) else 1
    finally:
        step("stopping Kafka")
        stop_kafka(env)


if __name__ == "__main__":
    raise SystemExit(main())
