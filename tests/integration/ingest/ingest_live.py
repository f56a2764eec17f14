"""Running the ingest service for real: uvicorn on a free port, the real Kafka, a private broker.

``running_ingest`` serves the real app (``services.ingest.app.build_app``) with a broker
from ``create_broker`` on a real socket. ``raw_deliveries`` reads ``raw.<vendor>`` from
the start to its end offsets. ``PrivateKafka`` is a broker of the test's own (started and
stopped with deploy/kafka/*.sh), for tests that stop Kafka under the service.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from devstack.ports import free_port
from sandboxes.kit import serve
from schemas.envelope import utcnow
from services.ingest.app import IngestParts, build_app
from services.ingest.settings import IngestSettings
from services.ingest.webhooks import WebhookIntake
from services.runtime.bus import create_broker
from services.runtime.store import StateStore
from services.runtime.topics_admin import ensure_topics
from services.runtime.vault import Vault
from services.vendors import TOPICS

__all__ = ["LiveIngest", "PrivateKafka", "raw_deliveries", "running_ingest"]

ROOT = Path(__file__).resolve().parents[3]
KAFKA_DEPLOY = ROOT / "deploy" / "kafka"
KAFKA_SCRIPT_TIMEOUT_S = 180


@dataclass(frozen=True)
class LiveIngest:
    base_url: str
    intake: WebhookIntake


@asynccontextmanager
async def running_ingest(
    *,
    bootstrap: str,
    store: StateStore,
    vault: Vault,
    clock: Callable[[], datetime] = utcnow,
    **settings: Any,
) -> AsyncIterator[LiveIngest]:
    """The ingest app on a real socket, its broker connected to ``bootstrap``."""
    config = IngestSettings(kafka_bootstrap_servers=bootstrap, **settings)
    parts = IngestParts(settings=config, store=store, vault=vault, broker=create_broker(config))
    app = build_app(parts, clock=clock)
    async with serve(app) as server:
        yield LiveIngest(base_url=server.base_url, intake=app.state.webhook_intake)


async def raw_deliveries(bootstrap: str, topic: str, connection_id: str) -> list[dict[str, Any]]:
    """Every event on ``topic`` of ``connection_id``, with its Kafka key as ``_key``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        count = next(entry.partitions for entry in TOPICS if entry.name == topic)
        partitions = [TopicPartition(topic, number) for number in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    event = orjson.loads(message.value or b"{}")
                    if event.get("connection_id") == connection_id:
                        found.append({**event, "_key": (message.key or b"").decode()})
                    if message.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


class PrivateKafka:
    """A single-node broker for one test, which the test may stop and start again."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._env = {
            **os.environ,
            "KAFKA_DATA_DIR": str(data_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_START_TIMEOUT": "120",
            "PYTHON": sys.executable,
        }

    async def _run(self, script: str) -> None:
        process = await asyncio.create_subprocess_exec(
            str(KAFKA_DEPLOY / script),
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), KAFKA_SCRIPT_TIMEOUT_S)
        if process.returncode != 0:
            msg = f"deploy/kafka/{script} failed: {output.decode(errors='replace')}"
            raise AssertionError(msg)

    async def start(self) -> None:
        await self._run("fetch.sh")
        await self._run("start.sh")
        await ensure_topics(self.bootstrap, TOPICS)

    async def stop(self) -> None:
        await self._run("stop.sh")
