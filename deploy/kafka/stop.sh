#!/usr/bin/env bash
# Stop the Kafka that deploy/kafka/start.sh started for this data directory, and
# only that process: the pid file must name a live kafka.Kafka running this
# directory's config, so a recycled pid is never signalled.
#
# Environment: KAFKA_DATA_DIR (.run/kafka), KAFKA_STOP_TIMEOUT seconds before
# SIGKILL (30).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA_DIR="${KAFKA_DATA_DIR:-$ROOT/.run/kafka}"
[[ -d "$DATA_DIR" ]] || { echo "Kafka is not running (no $DATA_DIR)"; exit 0; }
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
CONFIG="$DATA_DIR/server.properties"
PID_FILE="$DATA_DIR/kafka.pid"

[[ -f "$PID_FILE" ]] || { echo "Kafka is not running (no $PID_FILE)"; exit 0; }
pid="$(cat "$PID_FILE")"

# Alive and ours: a zombie (state Z) has exited already, only its parent has not reaped it.
is_ours() {
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "kafka.Kafka $CONFIG"
}

if ! is_ours; then
  echo "Kafka is not running (pid $pid from $PID_FILE is gone or not ours)"
  rm -f "$PID_FILE"
  exit 0
fi

kill -TERM "$pid"
deadline=$((SECONDS + STOP_TIMEOUT))
while is_ours; do
  if ((SECONDS >= deadline)); then
    echo "Kafka (pid $pid) did not stop within ${STOP_TIMEOUT}s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.1 # poll: nothing tells a non-parent shell when another process exits
done
rm -f "$PID_FILE"
echo "Kafka stopped (pid $pid)"
