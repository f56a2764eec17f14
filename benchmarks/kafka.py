"""The broker the benchmarks run against, and the topics they make on it.

Without ``KAFKA_BOOTSTRAP_SERVERS`` (or ``MLC_KAFKA_BOOTSTRAP_SERVERS``) a
private single-node Kafka is started with deploy/kafka/start.sh in a temporary
data directory on free ports, and stopped at the end. Every benchmark topic
has a run-unique name and is deleted afterwards, so a shared broker is left as
it was found.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from benchmarks.events import sample_employee
from devstack.ports import free_port
from schemas.topics import Topic
from services.runtime import RuntimeSettings, create_broker, ensure_topics, publish

__all__ = [
    "KafkaUnderTest",
    "bench_broker",
    "bench_topic",
    "connected_broker",
    "fill_topic",
    "kafka_under_test",
    "quiet_message_logs",
    "unique_name",
]

ROOT = Path(__file__).resolve().parents[1]
KAFKA_DEPLOY = ROOT / "deploy" / "kafka"
KAFKA_LIBS = ROOT / ".cache" / "kafka" / "libs"
SCRIPT_TIMEOUT_S = 180.0


@dataclass(frozen=True, slots=True)
class KafkaUnderTest:
    """Where the broker answers and what it is (for the report)."""

    bootstrap: str
    description: str


def unique_name(prefix: str) -> str:
    """A topic or group name no other run shares."""
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


def bench_broker(bootstrap: str, *, service_name: str = "bench") -> KafkaBroker:
    """A broker built like every service's (acks=all, idempotent, commit after handling, DLQ).

    The benchmark is no catalog service, so its dead-letter topic is named here;
    no-op handlers never fail, so nothing is ever sent there.
    """
    settings = RuntimeSettings(kafka_bootstrap_servers=bootstrap, service_name=service_name)
    return create_broker(settings, dead_letter_topic=f"dlq.{service_name}")


def quiet_message_logs() -> None:
    """Keep FastStream's two INFO lines per message out of the run's output.

    Tens of thousands of them would bury the table; with or without them the
    consume rate measured the same here (the offset commit dominates).
    """
    logging.getLogger("faststream").setLevel(logging.WARNING)


def _bundled_kafka_version() -> str:
    jars = sorted(KAFKA_LIBS.glob("kafka_2.13-*.jar"))
    if not jars:
        return "unknown"
    return jars[0].name.removeprefix("kafka_2.13-").removesuffix(".jar")


async def _run_script(name: str, env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        str(KAFKA_DEPLOY / name),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=SCRIPT_TIMEOUT_S)
    if process.returncode != 0:
        msg = f"deploy/kafka/{name} failed (exit {process.returncode}):\n{output.decode()}"
        raise RuntimeError(msg)


@asynccontextmanager
async def kafka_under_test() -> AsyncIterator[KafkaUnderTest]:
    """The broker named by the environment, or a private one for the duration of the block."""
    external = os.environ.get("MLC_KAFKA_BOOTSTRAP_SERVERS") or os.environ.get(
        "KAFKA_BOOTSTRAP_SERVERS"
    )
    if external:
        yield KafkaUnderTest(bootstrap=external, description=f"external broker at {external}")
        return
    with tempfile.TemporaryDirectory(prefix="mlc-bench-kafka-") as data_dir:
        port = free_port()
        env = {
            **os.environ,
            "KAFKA_DATA_DIR": data_dir,
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "PYTHON": sys.executable,
        }
        await _run_script("start.sh", env)
        try:
            yield KafkaUnderTest(
                bootstrap=f"127.0.0.1:{port}",
                description=(
                    f"Apache Kafka {_bundled_kafka_version()} (KRaft, single node, "
                    "deploy/kafka/start.sh, private data directory)"
                ),
            )
        finally:
            await _run_script("stop.sh", env)


@asynccontextmanager
async def bench_topic(bootstrap: str, prefix: str, *, partitions: int = 6) -> AsyncIterator[str]:
    """A fresh topic with ``partitions`` partitions, deleted when the block ends."""
    name = unique_name(f"bench.{prefix}")
    await ensure_topics(
        bootstrap,
        [
            Topic(
                name=name,
                events=("EmployeeChanged",),
                description="benchmark",
                partitions=partitions,
            )
        ],
    )
    try:
        yield name
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="mlc-bench")
        await admin.start()
        try:
            await admin.delete_topics([name])
        finally:
            await admin.close()


async def fill_topic(broker: KafkaBroker, topic: str, *, count: int, concurrency: int = 32) -> None:
    """Put ``count`` EmployeeChanged events on ``topic`` through ``publish``, acknowledged."""

    async def publisher(first: int) -> None:
        for index in range(first, count, concurrency):
            await publish(broker, sample_employee(index, run="fill"), topic=topic)

    await asyncio.gather(*(publisher(first) for first in range(min(concurrency, count))))


@asynccontextmanager
async def connected_broker(bootstrap: str) -> AsyncIterator[KafkaBroker]:
    """A producing broker built like every service's (acks=all, idempotent)."""
    broker = bench_broker(bootstrap)
    await broker.connect()
    try:
        yield broker
    finally:
        await broker.stop()
