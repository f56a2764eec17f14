"""docker-compose.yml, the Dockerfile and the Kubernetes manifests cannot be run
here (no container engine), so their consistency with the code is checked instead."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import yaml

from services.vendors import SERVICES

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


def test_kubernetes_has_one_deployment_per_service_running_its_module() -> None:
    kustomization = _load_yaml_documents(ROOT / "deploy" / "k8s" / "kustomization.yaml")[0]
    deployments: dict[str, list[str]] = {}
    for resource in kustomization["resources"]:
        for doc in _load_yaml_documents(ROOT / "deploy" / "k8s" / resource):
            if doc["kind"] == "Deployment":
                container = doc["spec"]["template"]["spec"]["containers"][0]
                deployments[doc["metadata"]["name"]] = container["command"]
    assert set(deployments) == {f"mlc-{name}" for name in DEPLOYED}
    for name in DEPLOYED:
        assert deployments[f"mlc-{name}"] == ["python", "-m", f"services.{name}"]


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
