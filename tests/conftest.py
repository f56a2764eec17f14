"""Session fixtures shared by the whole suite.

Kafka: ``kafka_bootstrap`` starts one broker for the session from the pinned
jars (deploy/kafka/start.sh) on a free port with its own data directory, and
stops it at the end, unless ``KAFKA_BOOTSTRAP_SERVERS`` names a running one.
Either way the catalog's topics exist before the first test. Tests that use it
carry the ``kafka`` marker.

PostgreSQL: ``postgres_server_url`` starts a private cluster for the session
(scripts/postgres-start.sh, in .cache/ on a free port) and stops it at the
end, unless ``MLC_TEST_POSTGRES_URL`` names a running server. Each test gets a
fresh database on it (``postgres_database_url``); ``database_url`` and ``store``
run a test once per backend (SQLite file, PostgreSQL). When PostgreSQL is not
installed and cannot be installed, the PostgreSQL cases are skipped with the
script's explanation; nothing else skips.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from schemas.topics import TOPICS, Topic
from services.runtime.store import StateStore
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


# --- PostgreSQL and the state store ---------------------------------------------

POSTGRES_START = ROOT / "scripts" / "postgres-start.sh"
POSTGRES_STOP = ROOT / "scripts" / "postgres-stop.sh"
# scripts/postgres-start.sh exits with 3 when PostgreSQL cannot be had at all.
POSTGRES_NOT_INSTALLED = 3
# initdb and start take under a second here; installing the package takes minutes.
POSTGRES_START_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """``postgresql+asyncpg://`` URL of a server on which tests may create databases."""
    existing = os.environ.get("MLC_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    # Under .cache/ rather than /tmp/pytest-of-*: that is private to root, and the
    # server runs as the 'postgres' user when the tests run as root.
    directory = ROOT / ".cache" / f"postgres-test-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [str(POSTGRES_START), str(directory), str(_free_port())],
        capture_output=True,
        text=True,
        timeout=POSTGRES_START_TIMEOUT_S,
        check=False,
    )
    if result.returncode == POSTGRES_NOT_INSTALLED:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip(
            "missing optional dependency: PostgreSQL server binaries (initdb, pg_ctl; "
            f"scripts/postgres-start.sh could not install them): {result.stderr.strip()}"
        )
    if result.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(
            f"scripts/postgres-start.sh failed (exit {result.returncode}):\n{result.stderr}",
            pytrace=False,
        )
    try:
        yield result.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(
            [str(POSTGRES_STOP), str(directory)], capture_output=True, timeout=120, check=False
        )
        shutil.rmtree(directory, ignore_errors=True)


async def _run_as_admin(server_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def postgres_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh, empty database on the session's server, dropped afterwards."""
    name = f"mlc_test_{uuid.uuid4().hex[:12]}"
    await _run_as_admin(postgres_server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _run_as_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty state store URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store' / 'state.db'}"
    return str(request.getfixturevalue("postgres_database_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StateStore]:
    """A migrated state store on each backend."""
    opened = await StateStore.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()
