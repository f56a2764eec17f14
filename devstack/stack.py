"""The local stack, as processes: what ``make up``, ``make down`` and ``make demo`` run.

:func:`start_stack` makes the run dir owner-only (0700, whatever the umask; the
state store, key ring, operator token and stack.json in it 0600), then starts,
each as its own process with its log in ``<run dir>/logs/<name>.log``:

1. Kafka (``deploy/kafka/start.sh``, data in ``<run dir>/kafka``) unless an
   external broker is given, and the catalog's topics;
2. the plan's vendor sandboxes (``make up``: every one; ``make demo``: those of the
   flows it plays), and asks each for its test app's credentials
   (``POST /_sandbox/credentials``);
3. the webhook edge and the control plane in one process (:mod:`devstack.edge_and_control`),
   or each in its own as deployed (``python -m services.ingest`` and ``python -m
   services.control``) when the plan gives the control plane a port (the benchmarks do),
   configured to use those sandboxes as the vendors (each plugin's ``sandbox_settings``),
   with a fresh vault key ring and operator token (files in the run dir, mode 0600);
4. the vendor services of the plan's flows (:mod:`devstack.flows`);

then connects every sandbox account as a person would (:mod:`devstack.accounts`: OAuth
consent for a vendor whose plugin has ``oauth``, else the key fields its plugin names,
from the sandbox's credentials, through the operator API), links them for each flow, and
writes ``<run dir>/stack.json``: where everything is. A vendor that could not be connected
is named, with the reason, in the StackError raised after stack.json is written.

Each process gets the caller's ``MLC_*`` settings; :mod:`devstack.environment` says which
few the stack sets itself.

:func:`stop_stack` stops exactly the processes recorded in ``<run dir>/pids``
and the Kafka of ``<run dir>/kafka``. ``python -m devstack.stack up|down``
is ``make up`` / ``make down`` (run dir ``.run``; ports ``KAFKA_PORT`` 9092,
``SANDBOX_BASE_PORT`` 9101 plus each sandbox's ``PORT_SLOT``, ``INGEST_PORT``
8080, where the sandbox apps' registered OAuth callbacks point).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import httpx
import orjson

from devstack.accounts import AccountError, connect_accounts, link_flows
from devstack.environment import caller_settings, process_environment
from devstack.flows import FLOWS, Flow, flows_named, services_of
from devstack.ports import free_port
from devstack.processes import BackgroundProcess, ProcessTable
from sandboxes import available_vendors, port_offset
from services.runtime.store import StoreError, migrate
from services.runtime.store.file_modes import (
    OWNER_ONLY_DIRECTORY,
    OWNER_ONLY_FILE,
    make_owner_only_directories,
)
from services.runtime.topics_admin import ensure_topics
from services.runtime.vault import generate_key_ring_entry
from services.vendors import TOPICS, sandbox_settings

__all__ = [
    "CONTROL",
    "INGEST",
    "StackError",
    "StackInfo",
    "StackPlan",
    "Wiring",
    "main",
    "ops_url",
    "process_env",
    "start_kafka",
    "start_stack",
    "stop_kafka",
    "stop_stack",
]

ROOT = Path(__file__).resolve().parents[1]
# The stack's one server (the edge and the control plane) in the process table, or the
# edge alone when the control plane runs apart (CONTROL).
INGEST = "ingest"
CONTROL = "control"
STARTUP_TIMEOUT_SECONDS = 90.0
# Files in the run dir that hold a secret (the key ring, the operator token).
_SECRET_FILES = ("master_keys", "operator_token", "stack.json")


class StackError(RuntimeError):
    """A part of the stack did not come up; the message says which and where its log is."""


@dataclass(frozen=True, slots=True)
class StackPlan:
    """Where the stack's parts go, which flows it runs, and the caller's settings."""

    run_dir: Path
    sandboxes: tuple[str, ...]
    sandbox_ports: Mapping[str, int]
    ingest_port: int
    kafka_port: int
    # The control plane in a process of its own on this port, as deployed; None: in the
    # one dev process with the edge (make up and make demo: one server to watch).
    control_port: int | None = None
    flows: tuple[Flow, ...] = FLOWS
    # The caller's MLC_* variables, passed to every process (devstack.environment).
    settings: Mapping[str, str] = field(default_factory=dict)
    kafka_bootstrap: str | None = None  # a running broker to use instead of starting one
    fresh: bool = False  # forget earlier state: the store, Kafka's data, the connections
    # The ingest's tick scheduler (a new connection's daily reconcile fires at once).
    scheduler: bool = True
    # The ports were picked free here (not named by a person): one taken by another
    # process before ours bound it is replaced by another free one.
    ports_picked: bool = False
    # The state store: None for the run dir's SQLite file; a PostgreSQL URL for a store
    # several replicas share (the fault suite's), kept as it is (not emptied when fresh).
    store_url: str | None = None

    @classmethod
    def for_up(cls, env: Mapping[str, str]) -> StackPlan:
        """``make up``: fixed ports a person can remember, every sandbox, state kept."""
        base = int(env.get("SANDBOX_BASE_PORT", "9101"))
        vendors = tuple(available_vendors())
        return cls(
            run_dir=ROOT / ".run",
            sandboxes=vendors,
            sandbox_ports={vendor: base + port_offset(vendor) for vendor in vendors},
            ingest_port=int(env.get("INGEST_PORT", "8080")),
            kafka_port=int(env.get("KAFKA_PORT", "9092")),
            flows=FLOWS,
            settings=caller_settings(env),
            kafka_bootstrap=_external_kafka(env),
        )

    @classmethod
    def for_demo(cls, env: Mapping[str, str], flows: Sequence[str] | None = None) -> StackPlan:
        """``make demo``: the sandboxes of the flows it plays (every built flow for None),
        on free ports (it may run beside ``make up``), a fresh state each run."""
        chosen = flows_named(flows)
        vendors = services_of(chosen)
        return cls(
            # DEMO_RUN_DIR lets a test run the demo beside a person's.
            run_dir=Path(env.get("DEMO_RUN_DIR") or ROOT / ".run" / "demo"),
            sandboxes=vendors,
            sandbox_ports={vendor: free_port() for vendor in vendors},
            ingest_port=free_port(),
            kafka_port=free_port(),
            flows=chosen,
            settings=caller_settings(env),
            kafka_bootstrap=_external_kafka(env),
            fresh=True,
            # The demo backfills when it says so, with `mlc connections sync`.
            scheduler=False,
            ports_picked=True,
        )

    @property
    def database_url(self) -> str:
        return self.store_url or f"sqlite+aiosqlite:///{self.run_dir / 'state.db'}"

    @property
    def kafka_dir(self) -> Path:
        return self.run_dir / "kafka"

    @property
    def ingest_url(self) -> str:
        """The webhook edge: where the vendors deliver."""
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def control_url(self) -> str:
        """The control plane: the operator API, the console and the OAuth callbacks."""
        return f"http://127.0.0.1:{self.control_port or self.ingest_port}"


@dataclass(frozen=True, slots=True)
class Wiring:
    """What the running parts agree on once Kafka and the sandboxes are up."""

    bootstrap: str
    sandboxes: Mapping[str, str]  # vendor -> its sandbox's base URL
    credentials: Mapping[str, Mapping[str, Any]]  # vendor -> its test app's credentials
    master_keys: Path
    operator_token: str


def process_env(
    plan: StackPlan,
    wiring: Wiring | None,
    name: str,
    os_environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of the stack's process ``name`` (a sandbox: ``wiring`` None).

    The caller's settings, with the stack's own values where it must decide (the
    list is in :mod:`devstack.environment`).
    """
    environ = os.environ if os_environ is None else os_environ
    if wiring is None:
        return process_environment(environ, plan.settings, {})
    stack = {
        "MLC_KAFKA_BOOTSTRAP_SERVERS": wiring.bootstrap,
        "MLC_DATABASE_URL": plan.database_url,
        "MLC_MASTER_KEYS_FILE": str(wiring.master_keys),
        # Vendors accept only https webhook URLs; see accounts.deliver_webhooks_to_ingest.
        "MLC_PUBLIC_URL": f"https://127.0.0.1:{plan.ingest_port}",
        "MLC_INGEST_HOST": "127.0.0.1",
        "MLC_INGEST_PORT": str(plan.ingest_port),
        **sandbox_settings(wiring.sandboxes, wiring.credentials),
        "MLC_SERVICE_NAME": name,
    }
    if plan.control_port is not None:
        stack["MLC_CONTROL_HOST"] = "127.0.0.1"
        stack["MLC_CONTROL_PORT"] = str(plan.control_port)
    if name in (INGEST, CONTROL):
        stack["MLC_OPERATOR_TOKEN"] = wiring.operator_token
    if name == INGEST:
        stack["MLC_SCHEDULER_ENABLED"] = "true" if plan.scheduler else "false"
    return process_environment(environ, plan.settings, stack)


@dataclass
class StackInfo:
    """Where everything is; :meth:`document` is ``stack.json``."""

    kafka: str
    ingest: str  # the webhook edge
    operator_token: str
    sandboxes: dict[str, str]
    # The operator API, console and OAuth callbacks: the ingest's URL when one process
    # serves both.
    control: str = ""
    connections: dict[str, str] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    # Not in stack.json: what each flow service is doing ("running").
    services: dict[str, str] = field(default_factory=dict)
    database_url: str = ""
    # Not in stack.json: vendors whose account could not be connected -> why.
    unconnected: dict[str, str] = field(default_factory=dict)
    # process -> its ops port's base URL (/metrics, /livez, /readyz).
    ops: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.control = self.control or self.ingest

    def document(self) -> dict[str, Any]:
        return {
            "kafka": self.kafka,
            "ingest": self.ingest,
            "control": self.control,
            "operator_token": self.operator_token,
            "sandboxes": self.sandboxes,
            "connections": self.connections,
            "links": self.links,
            "ops": self.ops,
        }


def _external_kafka(env: Mapping[str, str]) -> str | None:
    return env.get("MLC_KAFKA_BOOTSTRAP_SERVERS") or env.get("KAFKA_BOOTSTRAP_SERVERS") or None


def _private_run_dir(run_dir: Path) -> None:
    """Make ``run_dir`` (and missing parents) 0700 and its secret files 0600, whatever the umask.

    It holds the state store, the vault key ring, the operator token, stack.json
    and the logs. A stack before this one left its run dir and store with the
    umask's modes (0755, 0644); they are the stack's own, so they are tightened
    here rather than refused by the store when the services start.
    """
    make_owner_only_directories(run_dir)
    run_dir.chmod(OWNER_ONLY_DIRECTORY)
    secrets_kept = [*run_dir.glob("state.db*"), *(run_dir / name for name in _SECRET_FILES)]
    for path in secrets_kept:
        if path.is_file():
            path.chmod(OWNER_ONLY_FILE)


def _secret_file(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in ``path``, made and written (mode 0600) the first time."""
    if path.exists():
        path.chmod(OWNER_ONLY_FILE)  # an earlier stack may have left it wider
        return path.read_text(encoding="utf-8").strip()
    make_owner_only_directories(path.parent)
    value = make()
    _write_owner_only(path, value.encode("utf-8"), exclusive=True)
    return value


def _write_owner_only(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte, whatever the umask."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, OWNER_ONLY_FILE)
    with os.fdopen(fd, "wb") as out:
        # The umask may have taken bits from the new file; an old file keeps its mode.
        os.fchmod(out.fileno(), OWNER_ONLY_FILE)
        out.write(data)


def _kafka_env(plan: StackPlan) -> dict[str, str]:
    return {**os.environ, "KAFKA_DATA_DIR": str(plan.kafka_dir), "KAFKA_PORT": str(plan.kafka_port)}


Say = Callable[[str], None]


async def start_stack(plan: StackPlan, say: Say) -> StackInfo:
    """Start every part, connect the accounts, link them; raises StackError with the reason."""
    _private_run_dir(plan.run_dir)
    table = ProcessTable(plan.run_dir)
    # The sandboxes keep their accounts in memory: once they stopped, the connections
    # stored for them hold tokens nobody knows, so a stack that starts anew starts empty.
    if plan.fresh or not any(table.get(name) for name in table.names()):
        for leftover in plan.run_dir.glob("state.db*"):
            leftover.unlink()
        (plan.run_dir / "stack.json").unlink(missing_ok=True)

    bootstrap = await start_kafka(plan, say)
    sandboxes = await _sandboxes(plan, table, say)
    credentials = {vendor: await _credentials(url) for vendor, url in sandboxes.items()}

    master_keys = plan.run_dir / "master_keys"
    _secret_file(master_keys, lambda: generate_key_ring_entry("k1"))
    token = _secret_file(plan.run_dir / "operator_token", lambda: secrets.token_urlsafe(32))
    wiring = Wiring(bootstrap, sandboxes, credentials, master_keys, token)
    await migrate(plan.database_url)

    plan = await _edge_and_control(plan, wiring, table, say)
    ops = {
        name: ops_url(process.log)
        for name in (INGEST, CONTROL)
        if (process := table.get(name)) is not None
    }
    services: dict[str, str] = {}
    for name in services_of(plan.flows):
        ops[name] = await _flow_service(table, name, process_env(plan, wiring, name), say)
        services[name] = "running"

    info = StackInfo(
        kafka=bootstrap,
        ingest=plan.ingest_url,
        control=plan.control_url,
        operator_token=token,
        sandboxes=sandboxes,
        services=services,
        database_url=plan.database_url,
        ops=ops,
    )
    earlier = _earlier_connections(plan)
    await connect_accounts(info, plan.flows, credentials, earlier=earlier, say=say)
    try:
        await link_flows(info, plan.flows, say=say)
    except AccountError as exc:
        raise StackError(str(exc)) from None
    stack_json = plan.run_dir / "stack.json"
    # It holds the operator token.
    _write_owner_only(stack_json, orjson.dumps(info.document(), option=orjson.OPT_INDENT_2) + b"\n")
    if info.unconnected:
        reasons = "\n".join(f"  {vendor}: {why}" for vendor, why in info.unconnected.items())
        msg = f"these sandbox accounts could not be connected:\n{reasons}"
        raise StackError(msg)
    return info


async def _edge_and_control(
    plan: StackPlan, wiring: Wiring, table: ProcessTable, say: Say
) -> StackPlan:
    """Start the edge and the control plane (one process, or two as the plan says) and
    wait until they answer; the plan with the ports they serve on."""
    edge_alone = plan.control_port is not None
    edge_command = "services.ingest" if edge_alone else "devstack.edge_and_control"

    def start_edge(port: int) -> tuple[BackgroundProcess, str]:
        at = replace(plan, ingest_port=port)
        say(f"starting the ingest service on {at.ingest_url}")
        process = table.start(
            INGEST,
            [sys.executable, "-m", edge_command],
            env=process_env(at, wiring, INGEST),
            cwd=ROOT,
        )
        return process, f"{at.ingest_url}/healthz"

    port = await _serving(table, start_edge, plan.ingest_port, repick=plan.ports_picked)
    plan = replace(plan, ingest_port=port)
    if plan.control_port is None:
        return plan

    def start_control(port: int) -> tuple[BackgroundProcess, str]:
        at = replace(plan, control_port=port)
        say(f"starting the control plane on {at.control_url}")
        process = table.start(
            CONTROL,
            [sys.executable, "-m", "services.control"],
            env=process_env(at, wiring, CONTROL),
            cwd=ROOT,
        )
        return process, f"{at.control_url}/healthz"

    port = await _serving(table, start_control, plan.control_port, repick=plan.ports_picked)
    return replace(plan, control_port=port)


async def start_kafka(plan: StackPlan, say: Say) -> str:
    """The plan's broker: an external one as is, else ours started (again, on its data
    unless the plan is fresh); the catalog's topics ensured either way. Its bootstrap."""
    if plan.kafka_bootstrap:
        say(f"using the running Kafka at {plan.kafka_bootstrap}")
        bootstrap = plan.kafka_bootstrap
    else:
        if plan.fresh:
            # A fresh log each run: the demo's chains are then the only ones on its topics.
            await asyncio.to_thread(stop_kafka, plan)
            shutil.rmtree(plan.kafka_dir, ignore_errors=True)
        say(f"starting Kafka on 127.0.0.1:{plan.kafka_port} (deploy/kafka/start.sh)")
        started = await asyncio.to_thread(
            subprocess.run,
            [str(ROOT / "deploy/kafka/start.sh")],
            env=_kafka_env(plan),
            capture_output=True,
            text=True,
            check=False,
        )
        if started.returncode != 0:
            raise StackError(f"Kafka did not start:\n{started.stdout}{started.stderr}")
        bootstrap = f"127.0.0.1:{plan.kafka_port}"
    ensured = await ensure_topics(bootstrap, TOPICS)
    say(f"topics: {len(ensured.created)} created, {len(ensured.existing)} already there")
    return bootstrap


async def _sandboxes(plan: StackPlan, table: ProcessTable, say: Say) -> dict[str, str]:
    urls: dict[str, str] = {}
    for vendor in plan.sandboxes:

        def start_sandbox(port: int, vendor: str = vendor) -> tuple[BackgroundProcess, str]:
            process = table.start(
                f"sandbox-{vendor}",
                [sys.executable, "-m", "sandboxes", vendor, "--port", str(port)],
                env=process_env(plan, None, f"sandbox-{vendor}"),
                cwd=ROOT,
            )
            return process, f"http://127.0.0.1:{port}/_sandbox/clock"

        port = await _serving(
            table, start_sandbox, plan.sandbox_ports[vendor], repick=plan.ports_picked
        )
        urls[vendor] = f"http://127.0.0.1:{port}"
    say("sandboxes: " + ", ".join(f"{vendor} {url}" for vendor, url in urls.items()))
    return urls


async def _credentials(sandbox_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        answer = await client.post(f"{sandbox_url}/_sandbox/credentials")
    answer.raise_for_status()
    return dict(answer.json())


def _answers(url: str) -> Callable[[], Any]:
    async def check() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                return (await client.get(url)).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _logged(process: BackgroundProcess, marker: bytes) -> Callable[[], Any]:
    async def check() -> bool:
        try:
            return marker in process.log.read_bytes()
        except OSError:
            return False

    return check


_OPS_LISTENING: Final = re.compile(rb'[^\n]*"event":\s*"ops\.listening"[^\n]*')
_PORT_FIELD: Final = re.compile(rb'"port":\s*(\d+)')


def ops_url(log: Path) -> str:
    """The ops port's base URL a service named in its log (it binds any free port: no
    port picked here can be taken before it binds)."""
    try:
        lines = _OPS_LISTENING.findall(log.read_bytes())
    except OSError:
        lines = []
    port = _PORT_FIELD.search(lines[-1]) if lines else None  # the newest start's
    return f"http://127.0.0.1:{int(port.group(1))}" if port else ""


def running_ops_urls(run_dir: Path) -> list[str]:
    """The ops URL of every process of the stack running now (sandboxes have none), each
    from its newest start's log line."""
    table = ProcessTable(run_dir)
    running = (table.get(name) for name in table.names())
    return [url for process in running if process is not None and (url := ops_url(process.log))]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def _until_ready(
    table: ProcessTable, process: BackgroundProcess, ready: Callable[[], Any]
) -> int | None:
    """Wait until ``ready`` or the process exits; its exit status then (None when ready)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        if await ready():
            return None
        code = table.exit_code(process)
        if code is not None:
            return code
        if time.monotonic() > deadline:
            msg = (
                f"{process.name} was not ready within {STARTUP_TIMEOUT_SECONDS:.0f} s; "
                f"{process.log}:\n{_tail(process.log)}"
            )
            raise StackError(msg)
        await asyncio.sleep(0.2)  # poll: readiness is an HTTP answer or a log line


_PORT_TAKEN: Final = b"address already in use"
_PORT_TRIES: Final = 3


async def _serving(
    table: ProcessTable,
    start: Callable[[int], tuple[BackgroundProcess, str]],
    port: int,
    *,
    repick: bool,
) -> int:
    """Start a server on ``port`` and wait until it answers; the port it serves on.

    A port picked free here can be taken by another process before ours binds it (a
    probe and a bind are two steps): with ``repick``, a server that exits saying so is
    started again on another free port, a few times.
    """
    for attempt in range(1, _PORT_TRIES + 1):
        process, url = start(port)
        code = await _until_ready(table, process, _answers(url))
        if code is None:
            return port
        taken = _PORT_TAKEN in process.log.read_bytes().lower()
        if not (repick and taken and attempt < _PORT_TRIES):
            msg = f"{process.name} exited with status {code}; {process.log}:\n{_tail(process.log)}"
            raise StackError(msg)
        port = free_port()
    raise AssertionError("unreachable: the last try returns or raises")


async def _until_serving(table: ProcessTable, process: BackgroundProcess, url: str) -> None:
    """Wait until ``url`` answers 200; a process that exits instead is a StackError."""
    code = await _until_ready(table, process, _answers(url))
    if code is not None:
        msg = f"{process.name} exited with status {code}; {process.log}:\n{_tail(process.log)}"
        raise StackError(msg)


async def _flow_service(table: ProcessTable, name: str, env: Mapping[str, str], say: Say) -> str:
    """Start service ``name`` and wait until it says so; its ops port's URL."""
    process = table.start(
        name,
        [sys.executable, "-m", f"services.{name}"],
        env={**env, "MLC_SERVICE_NAME": name},
        cwd=ROOT,
    )
    code = await _until_ready(table, process, _logged(process, b"service.started"))
    if code is None:
        say(f"started the {name} service (log {process.log})")
        return ops_url(process.log)
    msg = f"the {name} service exited with status {code}; {process.log}:\n{_tail(process.log)}"
    raise StackError(msg)


def stop_kafka(plan: StackPlan) -> None:
    """Stop the Kafka of this run dir, if it is running (stop.sh checks it is ours)."""
    if (plan.kafka_dir / "kafka.pid").exists():
        subprocess.run(  # noqa: S603 - our own script
            [str(ROOT / "deploy/kafka/stop.sh")],
            env=_kafka_env(plan),
            capture_output=True,
            check=False,
        )


def _earlier_connections(plan: StackPlan) -> dict[str, str]:
    """vendor -> connection id, as an earlier ``make up`` wrote them to stack.json."""
    path = plan.run_dir / "stack.json"
    if plan.fresh or not path.exists():
        return {}
    earlier = orjson.loads(path.read_bytes()).get("connections", {})
    return {str(vendor): str(connection_id) for vendor, connection_id in earlier.items()}


def stop_stack(plan: StackPlan, say: Say) -> None:
    """Stop what :func:`start_stack` started in this run dir: services first, Kafka last."""
    table = ProcessTable(plan.run_dir)
    order = [*reversed(services_of(plan.flows)), INGEST]
    names = table.names()
    for name in [*order, *(n for n in names if n not in order)]:
        if name in names and table.stop(name):
            say(f"stopped {name}")
    if (plan.kafka_dir / "kafka.pid").exists():
        stop_kafka(plan)
        say("stopped Kafka")
    (plan.run_dir / "stack.json").unlink(missing_ok=True)  # it would name what is gone


def _print_where(info: StackInfo, run_dir: Path) -> None:
    print(orjson.dumps(info.document(), option=orjson.OPT_INDENT_2).decode())
    print(
        f"(written to {run_dir / 'stack.json'}; logs in {run_dir / 'logs'}; `make down` stops it)"
    )
    for name, state in info.services.items():
        print(f"service {name}: {state}")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else ""
    plan = StackPlan.for_up(os.environ)

    def say(text: str) -> None:
        print(f"==> {text}", flush=True)

    if command == "up":
        try:
            info = asyncio.run(start_stack(plan, say))
        except (StackError, StoreError, OSError, httpx.HTTPError) as exc:
            print(f"make up failed: {exc}\n(what started is still running: `make down`)")
            return 1
        _print_where(info, plan.run_dir)
        return 0
    if command == "down":
        stop_stack(plan, say)
        return 0
    print("usage: python -m devstack.stack up|down", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
