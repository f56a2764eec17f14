"""What each process the stack starts gets of the caller's environment (devstack.environment).

The caller's ``MLC_*`` settings reach every process (a new user's
``MLC_FRESHBOOKS_REQUESTS_PER_SECOND=50 make up`` used to do nothing); the few values the
stack must decide itself win over them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from devstack.stack import CONTROL, INGEST, StackPlan, Wiring, process_env

CALLER = {
    "MLC_FRESHBOOKS_REQUESTS_PER_SECOND": "50",
    "MLC_LOG_LEVEL": "debug",
    # Each of these would break the stack: the stack's own value wins or it is dropped.
    "MLC_DATABASE_URL": "postgresql+asyncpg://elsewhere/db",
    "MLC_FRESHBOOKS_API_BASE_URL": "https://api.freshbooks.com",
    "MLC_PUBLIC_URL": "https://mlc.example.com",
    "MLC_SERVICE_NAME": "somebody",
    "MLC_MASTER_KEYS": "k9:someone-elses-key",
    "MLC_OPERATOR_TOKEN": "callers-token",
    "MLC_SCHEDULER_ENABLED": "true",
}
OS_ENVIRON = {"PATH": "/usr/bin", "HOME": "/home/me", "KAFKA_BOOTSTRAP_SERVERS": "10.0.0.1:9092"}


@pytest.fixture
def plan(tmp_path: Path) -> StackPlan:
    return StackPlan.for_demo({**CALLER, "DEMO_RUN_DIR": str(tmp_path)})


@pytest.fixture
def wiring(tmp_path: Path) -> Wiring:
    app = {"client_id": "id", "client_secret": "secret", "redirect_uri": "http://localhost/cb"}
    return Wiring(
        bootstrap="127.0.0.1:19092",
        sandboxes={"bamboohr": "http://127.0.0.1:9101", "freshbooks": "http://127.0.0.1:9102"},
        credentials={"bamboohr": app, "freshbooks": app},
        master_keys=tmp_path / "master_keys",
        operator_token="stack-token",
    )


def test_a_callers_setting_reaches_the_vendor_service_it_is_for(
    plan: StackPlan, wiring: Wiring
) -> None:
    env = process_env(plan, wiring, "freshbooks", OS_ENVIRON)

    assert env["MLC_FRESHBOOKS_REQUESTS_PER_SECOND"] == "50"
    assert env["MLC_LOG_LEVEL"] == "debug"


@pytest.mark.parametrize("name", [INGEST, "bamboohr", "freshbooks", "sandbox-freshbooks"])
def test_every_process_gets_the_callers_settings_and_the_os_environment(
    plan: StackPlan, wiring: Wiring, name: str
) -> None:
    env = process_env(plan, None if name.startswith("sandbox-") else wiring, name, OS_ENVIRON)

    assert env["MLC_FRESHBOOKS_REQUESTS_PER_SECOND"] == "50"
    assert (env["PATH"], env["HOME"]) == ("/usr/bin", "/home/me")
    # Read by the services as MLC_KAFKA_BOOTSTRAP_SERVERS, which the stack sets.
    assert "KAFKA_BOOTSTRAP_SERVERS" not in env


def test_where_the_parts_meet_the_stacks_values_win(plan: StackPlan, wiring: Wiring) -> None:
    env = process_env(plan, wiring, "freshbooks", OS_ENVIRON)

    assert env["MLC_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["MLC_DATABASE_URL"] == plan.database_url
    assert env["MLC_MASTER_KEYS_FILE"] == str(wiring.master_keys)
    assert env["MLC_PUBLIC_URL"] == f"https://127.0.0.1:{plan.ingest_port}"
    assert env["MLC_SERVICE_NAME"] == "freshbooks"
    # The plugin's sandbox settings point the vendor at its sandbox.
    assert env["MLC_FRESHBOOKS_API_BASE_URL"] == "http://127.0.0.1:9102"
    assert env["MLC_FRESHBOOKS_CLIENT_ID"] == "id"


def test_a_callers_key_ring_and_operator_token_reach_no_process(
    plan: StackPlan, wiring: Wiring
) -> None:
    service = process_env(plan, wiring, "bamboohr", OS_ENVIRON)
    ingest = process_env(plan, wiring, INGEST, OS_ENVIRON)

    # MLC_MASTER_KEYS would win over the stack's key ring file.
    assert "MLC_MASTER_KEYS" not in service
    assert "MLC_MASTER_KEYS" not in ingest
    assert "MLC_OPERATOR_TOKEN" not in service
    assert ingest["MLC_OPERATOR_TOKEN"] == "stack-token"
    # The demo backfills when it says so.
    assert ingest["MLC_SCHEDULER_ENABLED"] == "false"


def test_a_control_plane_apart_gets_its_port_and_the_token_and_the_edge_keeps_the_webhooks(
    plan: StackPlan, wiring: Wiring
) -> None:
    apart = replace(plan, ingest_port=18080, control_port=18081)
    control = process_env(apart, wiring, CONTROL, OS_ENVIRON)
    edge = process_env(apart, wiring, INGEST, OS_ENVIRON)

    assert control["MLC_CONTROL_PORT"] == "18081"
    assert control["MLC_OPERATOR_TOKEN"] == "stack-token"
    assert control["MLC_SERVICE_NAME"] == CONTROL
    # It registers the vendors' webhooks at the edge's address, not its own.
    assert control["MLC_PUBLIC_URL"] == "https://127.0.0.1:18080"
    assert edge["MLC_INGEST_PORT"] == "18080"
    assert edge["MLC_SCHEDULER_ENABLED"] == "false"
    assert apart.control_url == "http://127.0.0.1:18081"
    assert plan.control_url == plan.ingest_url  # one process serves both by default


def test_settings_come_from_the_environment_the_plan_was_made_from(tmp_path: Path) -> None:
    plan = StackPlan.for_demo({"DEMO_RUN_DIR": str(tmp_path)})

    env = process_env(plan, None, "sandbox-bamboohr", {**OS_ENVIRON, "MLC_LOG_LEVEL": "debug"})

    # A test's plan names its settings; a stray one of the test process does not leak in.
    assert "MLC_LOG_LEVEL" not in env


def test_make_up_takes_the_callers_settings() -> None:
    plan = StackPlan.for_up({"MLC_FRESHBOOKS_REQUESTS_PER_SECOND": "50", "PATH": "/bin"})

    assert plan.settings == {"MLC_FRESHBOOKS_REQUESTS_PER_SECOND": "50"}
