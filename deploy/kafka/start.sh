#!/usr/bin/env bash
# Start a single-node Apache Kafka (KRaft) in the background from the jars in
# .cache/kafka/libs, and return once it answers. Formats its storage on the
# first start. Stop it with deploy/kafka/stop.sh (same environment).
#
# Environment (all optional):
#   KAFKA_DATA_DIR          where config, data, logs and the pid file go (.run/kafka)
#   KAFKA_PORT              client port on 127.0.0.1 (9092)
#   KAFKA_CONTROLLER_PORT   KRaft controller port on 127.0.0.1 (KAFKA_PORT + 1)
#   KAFKA_HEAP_OPTS         JVM heap flags (-Xms128m -Xmx512m)
#   KAFKA_START_TIMEOUT     seconds to wait for the broker to answer (90)
#   KAFKA_LIBS_DIR          the jars (.cache/kafka/libs, see deploy/kafka/fetch.sh)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIBS="${KAFKA_LIBS_DIR:-$ROOT/.cache/kafka/libs}"
DATA_DIR="${KAFKA_DATA_DIR:-$ROOT/.run/kafka}"
# Absolute, so stop.sh from another directory recognises the process by its config path.
DATA_DIR="$(mkdir -p "$DATA_DIR" && cd "$DATA_DIR" && pwd)"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
PYTHON="${PYTHON:-python3}"

CONFIG="$DATA_DIR/server.properties"
PID_FILE="$DATA_DIR/kafka.pid"
LOG_DIR="$DATA_DIR/logs"

fail() {
  echo "deploy/kafka/start.sh: $*" >&2
  exit 1
}

command -v java >/dev/null 2>&1 || fail "'java' is not on PATH; the local Kafka needs Java 17+"
command -v "$PYTHON" >/dev/null 2>&1 || fail "'$PYTHON' is not on PATH (used to check the broker answers)"
compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null || fail "no Kafka jars in $LIBS; run 'make kafka-jars' first"

is_running() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(cat "$PID_FILE")"
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "kafka.Kafka $CONFIG"
}

if is_running; then
  echo "Kafka already running at 127.0.0.1:$PORT (pid $(cat "$PID_FILE"), data in $DATA_DIR)"
  exit 0
fi

# Something else answering on the port would pass the readiness check below.
for port in "$PORT" "$CONTROLLER_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port on 127.0.0.1 is already in use; set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
  fi
done

mkdir -p "$DATA_DIR/data" "$LOG_DIR"
# One run per log, so a failed start's tail shows that start; the last one is kept.
[[ -f "$LOG_DIR/server.log" ]] && mv "$LOG_DIR/server.log" "$LOG_DIR/server.log.previous"

# The checked-in properties plus this run's values: Java's Properties keeps the
# last value of a repeated key, so the appended lines win.
{
  cat "$HERE/server.properties"
  echo
  echo "# --- written by deploy/kafka/start.sh for this data directory ---"
  echo "listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
  echo "advertised.listeners=PLAINTEXT://127.0.0.1:$PORT"
  echo "controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT"
  echo "log.dirs=$DATA_DIR/data"
} >"$CONFIG"

JAVA_OPTS=(
  $HEAP_OPTS
  # One small heap on two shared cores: the serial collector has no GC threads
  # to start and pauses are short at this size.
  -XX:+UseSerialGC
  # Start-up is dominated by class loading and interpretation; the C1 compiler
  # alone gets there sooner and is fast enough for local and test traffic.
  -XX:TieredStopAtLevel=1
  -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true
  -Dkafka.logs.dir="$LOG_DIR"
  -Dlog4j2.configurationFile="$HERE/log4j2.xml"
  -cp "$LIBS/*"
)

if [[ ! -f "$DATA_DIR/data/meta.properties" ]]; then
  # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding.
  # One id in 64 starts with "-", which kafka-storage's argument parser takes for an option:
  # draw again until it does not.
  cluster_id="-"
  while [ "${cluster_id#-}" != "$cluster_id" ]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  java "${JAVA_OPTS[@]}" kafka.tools.StorageTool format \
    --cluster-id "$cluster_id" --config "$CONFIG" >"$LOG_DIR/format.log" 2>&1 \
    || { cat "$LOG_DIR/format.log" >&2; fail "formatting $DATA_DIR/data failed"; }
fi

nohup java "${JAVA_OPTS[@]}" kafka.Kafka "$CONFIG" >"$LOG_DIR/kafka.out" 2>&1 &
pid=$!
echo "$pid" >"$PID_FILE"

if ! "$PYTHON" "$HERE/broker_ready.py" "127.0.0.1:$PORT" "$START_TIMEOUT" "$pid"; then
  if kill -0 "$pid" 2>/dev/null; then
    echo "deploy/kafka/start.sh: Kafka did not answer on 127.0.0.1:$PORT within ${START_TIMEOUT}s" >&2
  else
    echo "deploy/kafka/start.sh: Kafka exited during start-up" >&2
  fi
  for log in "$LOG_DIR/kafka.out" "$LOG_DIR/server.log"; do
    [[ -s "$log" ]] && { echo "--- tail of $log" >&2; tail -n 40 "$log" >&2; }
  done
  "$HERE/stop.sh" >/dev/null 2>&1 || true
  exit 1
fi
echo "Kafka running at 127.0.0.1:$PORT (pid $(cat "$PID_FILE"), data in $DATA_DIR)"
