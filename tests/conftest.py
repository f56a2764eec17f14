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

Markers: every test carries the marker of its folder (``FOLDER_MARKERS``: unit,
contract, integration, e2e, sandboxes, docs), so ``-m unit`` or ``-m "not e2e"``
select by tier; a test under a folder that has no marker is a collection error.

Parallel runs (pytest-xdist, ``make test``): each worker is its own pytest session,
so each worker starts its own broker and its own PostgreSQL cluster (on free ports,
in its own temporary directory). A broker per worker rather than one shared: the
services' consumer groups are their service names ("freshbooks", "bamboohr",
"ingest"), fixed by the code and not per test, so two stacks (or two service
processes) on one broker at once would split each other's partitions. A worker
runs its tests one at a time, as the serial suite does, so a broker never sees two
users of one consumer group at once. The end-to-end tests of one module share its
stack: ``xdist_group`` keeps them on one worker under ``--dist loadgroup``. Each
still passes alone and in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.console_browser import ChromiumMissingError, chromium_path
from devstack.ports import free_port
from schemas.topics import Topic
from services.runtime.store import StateStore
from services.runtime.topics_admin import ensure_topics
from services.vendors import TOPICS

# Speed belongs in benchmarks, not in tests: on a loaded 2-core CI machine a property test's
# example may take longer than hypothesis' default 200 ms deadline without anything being
# wrong. Examples are derived from the test, not drawn at random, so every run (and CI's one
# run) tries the same ones; tests that set their own settings keep them.
hypothesis_settings.register_profile("mlc", deadline=None, derandomize=True, database=None)
hypothesis_settings.load_profile("mlc")

ROOT = Path(__file__).resolve().parents[1]
KAFKA_DEPLOY = ROOT / "deploy" / "kafka"
# Formatting storage and starting the JVM take ~2 s here; CI machines are slower.
KAFKA_START_TIMEOUT_S = 120


# The first folder under tests/ names the tier; `-m` selects by it.
FOLDER_MARKERS = {
    "unit": "unit",
    "contract": "contract",
    "integration": "integration",
    "e2e": "e2e",
    "sandboxes": "sandboxes",
    "docs": "docs",
}
TESTS = ROOT / "tests"
# Lock files that serialise a step across the xdist workers (and across concurrent runs).
LOCKS = ROOT / ".cache" / "test-locks"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks (loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its folder's tier, ``kafka`` when it uses the broker, and group
    each end-to-end module on one xdist worker (its tests share one stack)."""
    shared_broker = bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)
        relative = item.path.resolve().relative_to(TESTS)
        folder = relative.parts[0] if len(relative.parts) > 1 else ""
        tier = FOLDER_MARKERS.get(folder)
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: tests/{folder or relative} has no tier marker; add the folder "
                "to FOLDER_MARKERS in tests/conftest.py and its marker to pyproject.toml"
            )
        item.add_marker(getattr(pytest.mark, tier))
        if shared_broker and item.get_closest_marker("kafka"):
            # A broker given from outside (KAFKA_BOOTSTRAP_SERVERS) is every worker's: its
            # users run on one worker, one at a time, as in a serial run (see above).
            item.add_marker(pytest.mark.xdist_group("kafka"))
        elif tier == "e2e":
            # The module's tests share its stack: one worker for the module.
            item.add_marker(pytest.mark.xdist_group(f"e2e:{relative.as_posix()}"))


@contextlib.contextmanager
def _one_at_a_time(name: str) -> Iterator[None]:
    """Hold the machine-wide lock ``name``: xdist workers (and other runs) take turns."""
    LOCKS.mkdir(parents=True, exist_ok=True)
    with (LOCKS / f"{name}.lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


async def _kafka_script(name: str, env: dict[str, str]) -> tuple[int, str]:
    """Run ``deploy/kafka/<name>``: its exit status and its output."""
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
    return int(process.returncode or 0), output.decode(errors="replace")


async def _run_kafka_script(name: str, env: dict[str, str]) -> None:
    code, output = await _kafka_script(name, env)
    if code != 0:
        pytest.fail(f"deploy/kafka/{name} failed (exit {code}):\n{output}", pytrace=False)


# A free port is free when asked, not necessarily when the broker binds it: another
# worker's broker, server or outgoing connection can take it in between. Such a start
# is tried again on new ports; any other failure is reported at once.
KAFKA_START_ATTEMPTS = 3
_PORT_TAKEN = re.compile(r"already in use|BindException", re.IGNORECASE)


async def _start_kafka(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Start a broker on free ports; the environment that names it (for stop.sh)."""
    for attempt in range(1, KAFKA_START_ATTEMPTS + 1):
        env = {
            **os.environ,
            "KAFKA_DATA_DIR": str(tmp_path_factory.mktemp("kafka")),
            "KAFKA_PORT": str(free_port()),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_START_TIMEOUT": str(KAFKA_START_TIMEOUT_S),
            "PYTHON": sys.executable,
        }
        if env["KAFKA_PORT"] == env["KAFKA_CONTROLLER_PORT"]:
            continue
        code, output = await _kafka_script("start.sh", env)
        if code == 0:
            return env
        if attempt == KAFKA_START_ATTEMPTS or not _PORT_TAKEN.search(output):
            pytest.fail(f"deploy/kafka/start.sh failed (exit {code}):\n{output}", pytrace=False)
    pytest.fail("no two distinct free ports for Kafka", pytrace=False)


@pytest.fixture(scope="session")
async def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """``host:port`` of a Kafka broker whose catalog topics exist (this worker's own)."""
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        await ensure_topics(existing, TOPICS)
        yield existing
        return

    with _one_at_a_time("kafka-fetch"):  # the workers share .cache/kafka
        await _run_kafka_script("fetch.sh", dict(os.environ))
    env = await _start_kafka(tmp_path_factory)
    bootstrap = f"127.0.0.1:{env['KAFKA_PORT']}"
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
POSTGRES_START_ATTEMPTS = 3


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
    # One worker at a time: the first may install PostgreSQL (apt-get holds the dpkg
    # lock; a second apt-get at once would fail), the others then find it installed.
    # A port taken between asking and binding (see _start_kafka) is tried again.
    with _one_at_a_time("apt"):
        for _ in range(POSTGRES_START_ATTEMPTS):
            result = subprocess.run(
                [str(POSTGRES_START), str(directory), str(free_port())],
                capture_output=True,
                text=True,
                timeout=POSTGRES_START_TIMEOUT_S,
                check=False,
            )
            if result.returncode != 1 or not _PORT_TAKEN.search(result.stderr):
                break
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


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's Chromium for the console's browser tests (installed when there is none)."""
    # One worker at a time: apt-get holds the dpkg lock (PostgreSQL's install takes it too).
    with _one_at_a_time("apt"):
        try:
            return chromium_path()
        except ChromiumMissingError as exc:
            pytest.skip(f"missing optional dependency: Chromium ({exc})")


@pytest.fixture(scope="session")
def deploy_tools() -> Path:
    """``.cache/deploy-tools``: kubeconform, kustomize and the schemas the checks of deploy/
    use (``scripts/deploy-tools.sh``, pinned Go modules; installed once, one worker at a
    time)."""
    go = shutil.which("go") or "/usr/local/go/bin/go"  # where Go's own archive installs it
    if not Path(go).exists():
        pytest.skip("missing optional dependency: Go (it builds kubeconform and kustomize)")
    with _one_at_a_time("deploy-tools"):
        done = subprocess.run(
            [str(ROOT / "scripts" / "deploy-tools.sh")],
            env={**os.environ, "GO": go},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    if done.returncode != 0:
        pytest.fail(f"scripts/deploy-tools.sh failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


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
