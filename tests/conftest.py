"""Session fixtures shared by the whole suite.

Kafka: ``kafka_bootstrap`` starts one broker for the session from the pinned
jars (deploy/kafka/start.sh) on a free port with its own data directory, and
stops it at the end, unless ``KAFKA_BOOTSTRAP_SERVERS`` names a running one.
Either way the catalog's topics exist before the first test. Tests that use it
carry the ``kafka`` marker.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from schemas.topics import TOPICS, Topic
from services.runtime.topics_admin import ensure_topics

ROOT = Path(__file__).resolve().parents[1]
KAFKA_DEPLOY = ROOT / "deploy" / "kafka"
# Formatting storage and starting the JVM take ~2 s here; CI machines are slower.
KAFKA_START_TIMEOUT_S = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the broker carries the ``kafka`` marker, so ``-m "not kafka"`` skips it."""
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _run_kafka_script(name: str, env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        str(KAFKA_DEPLOY / name),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), KAFKA_START_TIMEOUT_S + 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"deploy/kafka/{name} did not finish in time", pytrace=False)
    if process.returncode != 0:
        pytest.fail(
            f"deploy/kafka/{name} failed (exit {process.returncode}):\n"
            f"{output.decode(errors='replace')}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
async def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """``host:port`` of a Kafka broker whose catalog topics exist."""
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        await ensure_topics(existing, TOPICS)
        yield existing
        return

    port = _free_port()
    env = {
        **os.environ,
        "KAFKA_DATA_DIR": str(tmp_path_factory.mktemp("kafka")),
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(_free_port()),
        "KAFKA_START_TIMEOUT": str(KAFKA_START_TIMEOUT_S),
        "PYTHON": sys.executable,
    }
    await _run_kafka_script("fetch.sh", env)
    await _run_kafka_script("start.sh", env)
    bootstrap = f"127.0.0.1:{port}"
    try:
        await ensure_topics(bootstrap, TOPICS)
        yield bootstrap
    finally:
        await _run_kafka_script("stop.sh", env)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Make names (topics, consumer groups, services) no other test or run shares.

    ``unique_name("orders")`` -> ``"orders.test_x_does_y.3f2a9c1d"``: the test's
    name keeps a broker's topic list readable, the random part keeps reruns
    against a long-lived broker (KAFKA_BOOTSTRAP_SERVERS) apart.
    """
    test_part = re.sub(r"[^a-zA-Z0-9_-]", "_", request.node.name)[:80]

    def make(prefix: str) -> str:
        return f"{prefix}.{test_part}.{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def kafka_topic(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> Callable[..., Awaitable[str]]:
    """Create a fresh topic for one test: ``await kafka_topic("orders", partitions=6)``."""

    async def create(prefix: str = "test", *, partitions: int = 1) -> str:
        name = unique_name(prefix)
        test_topic = Topic(
            name=name, events=(), description="created by a test", partitions=partitions
        )
        await ensure_topics(kafka_bootstrap, [test_topic])
        return name

    return create
