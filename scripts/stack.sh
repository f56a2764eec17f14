#!/usr/bin/env bash
# `make up` / `make down`: the local stack in the background.
#   up:   Kafka on 127.0.0.1:9092 (.run/kafka), the catalog's topics, every built
#         vendor sandbox on consecutive ports from 9101, and every built service.
#   down: stops what `up` started (by pid files whose process is still ours).
# Logs: .run/logs/<name>.log. Ports: KAFKA_PORT (9092), SANDBOX_BASE_PORT (9101).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN="$ROOT/.run"
LOGS="$RUN/logs"
PIDS="$RUN/pids"
PY="$ROOT/.venv/bin/python"
export KAFKA_DATA_DIR="$RUN/kafka"
export KAFKA_PORT="${KAFKA_PORT:-9092}"
SANDBOX_BASE_PORT="${SANDBOX_BASE_PORT:-9101}"
export MLC_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"

# A process is ours if its pid file names a live process whose command line is the one we started.
is_ours() {
    local name=$1 pid
    [[ -f "$PIDS/$name.pid" ]] || return 1
    pid=$(cat "$PIDS/$name.pid")
    [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(cat "$PIDS/$name.cmd")"
}

start_background() {
    local name=$1
    shift
    if is_ours "$name"; then
        echo "  $name already running (pid $(cat "$PIDS/$name.pid"))"
        return
    fi
    mkdir -p "$LOGS" "$PIDS"
    nohup "$@" >"$LOGS/$name.log" 2>&1 &
    echo $! >"$PIDS/$name.pid"
    echo "$*" >"$PIDS/$name.cmd"
    echo "  $name started (pid $!, log .run/logs/$name.log)"
}

stop_background() {
    local name=$1 pid
    if ! is_ours "$name"; then
        rm -f "$PIDS/$name.pid" "$PIDS/$name.cmd"
        return
    fi
    pid=$(cat "$PIDS/$name.pid")
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1 # poll: wait for the process to exit, at most 10 s
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$PIDS/$name.pid" "$PIDS/$name.cmd"
    echo "  $name stopped"
}

built_services() {
    for dir in services/*/; do
        name=$(basename "$dir")
        [[ -f "$dir/app.py" ]] && echo "$name"
    done
    return 0
}

case "${1:-}" in
up)
    echo "Kafka:"
    deploy/kafka/start.sh
    "$ROOT/.venv/bin/mlc" topics ensure
    echo "Sandboxes (ports from $SANDBOX_BASE_PORT, see python -m sandboxes --help):"
    start_background sandboxes "$PY" -m sandboxes all --base-port "$SANDBOX_BASE_PORT"
    echo "Services:"
    services=$(built_services)
    [[ -n "$services" ]] || echo "  (no service has a flow built yet)"
    for name in $services; do
        MLC_SERVICE_NAME=$name start_background "$name" "$PY" -m "services.$name"
    done
    ;;
down)
    for name in $(built_services) sandboxes; do
        stop_background "$name"
    done
    deploy/kafka/stop.sh
    ;;
*)
    echo "usage: scripts/stack.sh up|down" >&2
    exit 2
    ;;
esac
