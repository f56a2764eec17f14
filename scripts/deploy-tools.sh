#!/usr/bin/env bash
# Installs what checks deploy/ in `make test`, pinned, into .cache/deploy-tools (idempotent:
# a second run only checks the stamp). Needs Go on PATH (the Go module proxy serves all of it):
#   bin/kubeconform, bin/kustomize        go install, from their Go modules
#   crd-schemas/*.json                    the CRDs the manifests use (KEDA ScaledObject, the
#                                         Prometheus operator's ServiceMonitor and
#                                         PrometheusRule), from those projects' Go modules,
#                                         made JSON schemas by kubeconform's own script
#   compose-spec.json                     the Compose specification's schema, from the
#                                         compose-go module (github.com/compose-spec/compose-go)
#   k8s-schemas/*.json                    the Kubernetes API's schemas for KUBERNETES_VERSION,
#                                         from the kubernetes-validate package (uv.lock), with
#                                         its references made relative for kubeconform
# Prints the directory on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECONFORM=v0.7.0
KUSTOMIZE=v5.5.0
KEDA=v2.20.2
PROMETHEUS_OPERATOR=v0.85.0
COMPOSE_GO=v2.16.2
KUBERNETES_VERSION=v1.33.0
PYTHON=$(realpath -s "${PYTHON:-.venv/bin/python}")

OUT=$PWD/.cache/deploy-tools
stamp="$OUT/.ready-$KUBECONFORM-$KUSTOMIZE-$KEDA-$PROMETHEUS_OPERATOR-$COMPOSE_GO-$KUBERNETES_VERSION"
if [ -f "$stamp" ]; then
    echo "$OUT"
    exit 0
fi
# Go from PATH, else where its official archive installs it.
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if [ ! -x "$GO" ]; then
    echo "deploy-tools: needs Go (on PATH, or GO=/path/to/go): the checkers are Go modules" >&2
    exit 3
fi

export GOBIN="$OUT/bin" GOMODCACHE="$OUT/mod" GOCACHE="$OUT/go-build" GOFLAGS=-modcacherw \
    GOTOOLCHAIN=local
echo "deploy-tools: installing kubeconform $KUBECONFORM and kustomize $KUSTOMIZE" >&2
"$GO" install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM"
"$GO" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE"

module_dir() {  # the unpacked module $1 at version $2
    "$GO" mod download -json "$1@$2" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'
}
keda=$(module_dir github.com/kedacore/keda/v2 "$KEDA")
operator=$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR")
compose=$(module_dir github.com/compose-spec/compose-go/v2 "$COMPOSE_GO")
kubeconform=$(module_dir github.com/yannh/kubeconform "$KUBECONFORM")

rm -rf "$OUT/crd-schemas"
mkdir -p "$OUT/crd-schemas"
(
    cd "$OUT/crd-schemas"
    FILENAME_FORMAT='{kind}_{version}' "$PYTHON" "$kubeconform/scripts/openapi2jsonschema.py" \
        "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" \
        "$operator/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
        "$operator/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" \
        >&2
)
cp "$compose/schema/compose-spec.json" "$OUT/compose-spec.json"
"$PYTHON" - "$OUT/k8s-schemas" "$KUBERNETES_VERSION" <<'PY'
import json, pathlib, sys, kubernetes_validate
out, version = pathlib.Path(sys.argv[1]), sys.argv[2]
source = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
out.mkdir(parents=True, exist_ok=True)
for path in (source / f"{version}-local-strict").glob("*.json"):
    # Each schema's $id is a kubernetes.io URL its "/api/_definitions.json" references
    # resolve against (kubernetes-validate maps them itself): without the $id, and with the
    # reference relative, they resolve to the file next to it, which kubeconform can read.
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema.pop("$id", None)
    text = json.dumps(schema).replace('"/api/_definitions.json', '"_definitions.json')
    (out / path.name).write_text(text, encoding="utf-8")
PY
touch "$stamp"
echo "$OUT"
