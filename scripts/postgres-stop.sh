#!/usr/bin/env bash
# Stops the cluster scripts/postgres-start.sh started in DIR, and nothing else.
#
#   scripts/postgres-stop.sh [DIR]      (default: .cache/postgres)
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${1:-.cache/postgres}
DATA="$DIR/data"

say() { echo "postgres-stop: $*" >&2; }

if [ ! -f "$DATA/postmaster.pid" ]; then
    say "no cluster running in $DATA"
    exit 0
fi

PG_VERSION=$(cat "$DATA/PG_VERSION")
PG_CTL=/usr/lib/postgresql/$PG_VERSION/bin/pg_ctl
[ -x "$PG_CTL" ] || PG_CTL=$(command -v pg_ctl)

# The server runs as the data directory's owner; pg_ctl must too.
OWNER=$(stat -c %U "$DATA")
if [ "$(id -u)" -eq 0 ] && [ "$OWNER" != root ]; then
    runuser -u "$OWNER" -- "$PG_CTL" stop --pgdata="$DATA" --mode=fast --wait >/dev/null
else
    "$PG_CTL" stop --pgdata="$DATA" --mode=fast --wait >/dev/null
fi
say "stopped the cluster in $DATA"
