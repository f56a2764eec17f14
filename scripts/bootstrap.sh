#!/usr/bin/env bash
# Creates .venv from uv.lock. Idempotent: a second run only checks the stamp.
# Needs only a Python >= 3.11 on PATH; uv itself comes from PyPI, pinned below.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
TOOLS=.cache/tools
UV="$TOOLS/bin/uv"
PYTHON=${PYTHON:-python3}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: needs Python >= 3.11 as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi

if [ ! -x "$UV" ] || [ "$("$UV" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    echo "bootstrap: installing uv $UV_VERSION into $TOOLS"
    "$PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

stamp=.venv/.synced
if [ ! -f "$stamp" ] || [ uv.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: syncing .venv from uv.lock"
    UV_PYTHON_DOWNLOADS=never "$UV" sync --frozen --compile-bytecode --python "$PYTHON" --quiet
    touch "$stamp"
fi
