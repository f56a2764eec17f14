"""docker-compose.yml, the Dockerfile and the Kubernetes manifests cannot be run
here (no container engine), so their consistency with the code is checked instead."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from schemas.topics import topic
from services.runtime.bus import create_broker
from services.runtime.metrics import REGISTRY
from services.runtime.service_main import ServiceParts
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from services.vendors import SERVICES, VENDORS

ROOT = Path(__file__).resolve().parents[2]
# Every deployable: the services that consume (a dead-letter topic each) and the control plane.
DEPLOYED = (*SERVICES, "control")


def _load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def test_compose_runs_every_service_with_a_module_that_exists() -> None:
    compose = _load_yaml_documents(ROOT / "docker-compose.yml")[0]
    services = compose["services"]
    for name in DEPLOYED:
        assert name in services, f"docker-compose.yml has no service {name!r}"
        command = services[name]["command"]
        assert command[:2] == ["python", "-m"]
        assert importlib.util.find_spec(command[2]) is not None, command


def test_compose_services_get_their_name_and_the_shared_settings() -> None:
    compose = _load_yaml_documents(ROOT / "docker-compose.yml")[0]
    for name in DEPLOYED:
        env = compose["services"][name]["environment"]
        assert env["MLC_SERVICE_NAME"] == name
        assert env["MLC_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["MLC_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_compose_keeps_sandboxes_behind_a_profile() -> None:
    compose = _load_yaml_documents(ROOT / "docker-compose.yml")[0]
    assert compose["services"]["sandboxes"]["profiles"] == ["sandboxes"]


def test_dockerfile_copies_only_paths_that_exist() -> None:
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text(encoding="utf-8")
    for line in dockerfile.splitlines():
        match = re.match(r"COPY (?!--from)(.+) \S+$", line)
        if match:
            for source in match.group(1).split():
                assert (ROOT / source).exists(), f"Dockerfile copies a missing path: {source}"


def _base_documents() -> list[dict[str, Any]]:
    base = ROOT / "deploy" / "k8s" / "base"
    kustomization = _load_yaml_documents(base / "kustomization.yaml")[0]
    return [doc for name in kustomization["resources"] for doc in _load_yaml_documents(base / name)]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _base_documents() if d["kind"] == kind}


def test_kubernetes_has_one_deployment_per_service_running_its_module() -> None:
    deployments = _of_kind("Deployment")
    assert set(deployments) == {f"mlc-{name}" for name in DEPLOYED}
    for name in DEPLOYED:
        container = deployments[f"mlc-{name}"]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", f"services.{name}"]


def test_every_deployment_is_probed_on_its_ops_port_and_has_requests_and_limits() -> None:
    config = _of_kind("ConfigMap")["mlc-config"]["data"]
    assert config["MLC_OPS_HOST"] == "0.0.0.0"  # noqa: S104 - in a container, it must
    for name, deployment in _of_kind("Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports["ops"] == int(config["MLC_OPS_PORT"]), name
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "ops"}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}, name
        assert container["startupProbe"]["httpGet"]["path"] == "/livez", name
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), name
        assert "memory" in resources["limits"], name


def test_every_deployment_has_a_disruption_budget() -> None:
    budgets = _of_kind("PodDisruptionBudget")
    for name, deployment in _of_kind("Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"] == selector
        assert budgets[name]["spec"]["maxUnavailable"] == 1


def test_only_the_ingest_is_open_to_everyone() -> None:
    policies = _of_kind("NetworkPolicy").values()
    deny = [p for p in policies if "ingress" not in p["spec"]]
    assert [p["spec"]["podSelector"] for p in deny] == [
        {"matchLabels": {"app.kubernetes.io/part-of": "ml-connector"}}
    ]
    open_to_all = [
        p["spec"]["podSelector"]["matchLabels"]
        for p in policies
        for rule in p["spec"].get("ingress", [])
        if "from" not in rule
    ]
    assert open_to_all == [{"app.kubernetes.io/name": "mlc-ingest"}]


async def _groups_and_topics(service: str, tmp_path: Path) -> set[tuple[str, str]]:
    """(consumer group, topic) of every subscriber ``service``'s own wiring attaches."""
    settings = RuntimeSettings(
        service_name=service,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/{service}.db",
        master_keys=SecretStr(generate_key_ring_entry("k1")),
    )
    store = await StateStore.from_settings(settings)
    try:
        broker = create_broker(settings)
        app = importlib.import_module(f"services.{service}.app")
        await app.wire(
            ServiceParts(
                settings=settings, broker=broker, store=store, vault=Vault.from_settings(settings)
            )
        )
        return {
            (getattr(sub, "group_id", ""), t.name)
            for sub in broker.subscribers
            for t in getattr(sub, "topics", ())
        }
    finally:
        await store.close()


@pytest.mark.parametrize("service", VENDORS)
async def test_each_consumer_scales_on_the_groups_it_runs_and_never_past_their_partitions(
    service: str, tmp_path: Path
) -> None:
    private = tmp_path / "store"
    private.mkdir(mode=0o700)  # the store refuses a directory others can write
    wired = await _groups_and_topics(service, private)
    scaled = _of_kind("ScaledObject")[f"mlc-{service}"]["spec"]
    assert scaled["scaleTargetRef"] == {"name": f"mlc-{service}"}
    triggers = {
        (t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in scaled["triggers"]
    }
    assert triggers == wired
    for trigger in scaled["triggers"]:
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["bootstrapServersFromEnv"] == "MLC_KAFKA_BOOTSTRAP_SERVERS"
    # A replica past the partition count of a topic its groups read holds none of it.
    fewest = min(topic(name).partitions for _, name in wired)
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= fewest


def test_the_service_monitor_scrapes_every_pods_ops_port() -> None:
    [ops] = [s for s in _of_kind("Service").values() if s["metadata"]["name"] == "mlc-ops"]
    assert ops["spec"]["clusterIP"] == "None"
    assert ops["spec"]["selector"] == {"app.kubernetes.io/part-of": "ml-connector"}
    [monitor] = _of_kind("ServiceMonitor").values()
    assert monitor["spec"]["selector"]["matchLabels"] == ops["metadata"]["labels"]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["ops"]
    assert [e["path"] for e in monitor["spec"]["endpoints"]] == ["/metrics"]


def _exported_metric_names() -> set[str]:
    """Every series name a service exports: ours, the process collectors', FastStream's."""
    create_broker(RuntimeSettings(service_name="ingest"))  # registers FastStream's metrics
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count"))
    return names


_METRIC = re.compile(r"\b((?:mlc|faststream|process)_[a-z_]+)\b")


def test_every_alert_names_metrics_we_export_and_says_what_to_do() -> None:
    [rules] = _of_kind("PrometheusRule").values()
    known = _exported_metric_names()
    alerts = [rule for group in rules["spec"]["groups"] for rule in group["rules"]]
    assert len(alerts) >= 6
    for alert in alerts:
        used = set(_METRIC.findall(alert["expr"]))
        assert used <= known, (alert["alert"], used - known)
        assert alert["labels"]["severity"] in {"info", "warning", "critical"}
        assert alert["annotations"]["summary"]
        assert alert["annotations"]["description"]


def test_the_grafana_dashboard_is_valid_json_on_metrics_we_export() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "ml-connector.json").read_text("utf-8"))
    known = _exported_metric_names()
    assert dashboard["uid"] == "ml-connector"
    titles = [panel["title"] for panel in dashboard["panels"]]
    for wanted in (
        "Flow freshness",
        "Outcomes by status",
        "Vendor budget use",
        "429s from vendors",
        "Consumer lag",
        "Review queue",
    ):
        assert wanted in titles
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(titles)
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = set(_METRIC.findall(target["expr"]))
            assert used, target
            assert used <= known, (panel["title"], used - known)


def test_compose_gives_every_service_a_healthcheck_and_waits_on_health() -> None:
    compose = _load_yaml_documents(ROOT / "docker-compose.yml")[0]
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
        for dependency in (service.get("depends_on") or {}).values():
            assert dependency["condition"] == "service_healthy", name
    for name in DEPLOYED:
        env = compose["services"][name]["environment"]
        assert env["MLC_OPS_PORT"] == "9400"
        assert "9400/readyz" in " ".join(compose["services"][name]["healthcheck"]["test"])
        assert set(compose["services"][name]["depends_on"]) >= {"kafka", "postgres"}


def test_make_demo_up_and_down_run_python_modules_that_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^(demo|up|down):.*\n\t(.+)$", makefile, flags=re.MULTILINE))
    assert set(recipes) == {"demo", "up", "down"}
    for target, recipe in recipes.items():
        match = re.search(r"\$\(PY\) -m ([\w.]+)( up| down)?", recipe)
        assert match is not None, f"make {target} runs no python module: {recipe}"
        assert importlib.util.find_spec(match.group(1)) is not None, recipe
    assert recipes["up"].endswith("devstack.stack up")
    assert "devstack.stack down" in recipes["down"]


def test_only_the_control_plane_gets_the_operator_token() -> None:
    compose = _load_yaml_documents(ROOT / "docker-compose.yml")[0]
    holders = {
        name
        for name, service in compose["services"].items()
        if "MLC_OPERATOR_TOKEN" in (service.get("environment") or {})
    }
    assert holders == {"control"}
