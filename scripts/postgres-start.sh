#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for tests and local runs, and prints its URL.
#
#   scripts/postgres-start.sh [DIR] [PORT]      (defaults: .cache/postgres 55432)
#
# DIR holds the cluster (DIR/data), its log (DIR/postgres.log) and a lock, so
# two callers at once start it once. Idempotent: a running cluster in DIR is
# reused and its URL printed. It listens on 127.0.0.1 only, with no Unix
# socket, and trusts local connections (a throwaway cluster, never a
# production one). The only line on stdout is the URL:
#   postgresql+asyncpg://mlc@127.0.0.1:PORT/mlc
# Exit status 3 means PostgreSQL is not installed and could not be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${1:-.cache/postgres}
PORT=${2:-55432}
DATABASE=${MLC_PG_DATABASE:-mlc}
SUPERUSER=mlc
NOT_INSTALLED=3

say() { echo "postgres-start: $*" >&2; }

find_bindir() {
    local candidate
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    # Debian installs the server binaries off PATH, one directory per major version.
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! BINDIR=$(find_bindir); then
    if [ "$(id -u)" -ne 0 ]; then
        say "initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin;"
        say "install PostgreSQL (Debian/Ubuntu: sudo apt-get install -y postgresql) or set"
        say "MLC_TEST_POSTGRES_URL to a running server"
        exit "$NOT_INSTALLED"
    fi
    say "installing Debian's postgresql package"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2; then
        say "apt-get install postgresql failed; set MLC_TEST_POSTGRES_URL to a running server"
        exit "$NOT_INSTALLED"
    fi
    BINDIR=$(find_bindir) || { say "postgresql installed but pg_ctl not found"; exit "$NOT_INSTALLED"; }
fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
DATA="$DIR/data"

# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# 'postgres' system user (created by the Debian package; created here if absent).
if [ "$(id -u)" -eq 0 ]; then
    OWNER=postgres
    if ! id -u "$OWNER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER"
    fi
    chown "$OWNER" "$DIR"
    as_owner() { runuser -u "$OWNER" -- "$@"; }
    if ! as_owner test -w "$DIR"; then
        say "user $OWNER cannot write $DIR: make its parent directories searchable (chmod o+x)"
        exit 1
    fi
else
    as_owner() { "$@"; }
fi

exec 9>>"$DIR/start.lock"
flock 9

if [ ! -s "$DATA/PG_VERSION" ]; then
    say "creating a cluster in $DATA"
    as_owner "$BINDIR/initdb" --pgdata="$DATA" --username="$SUPERUSER" --auth=trust \
        --encoding=UTF8 --no-locale >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; exit 1; }
    as_owner tee -a "$DATA/postgresql.conf" >/dev/null <<CONF
# added by scripts/postgres-start.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
CONF
fi

if as_owner "$BINDIR/pg_ctl" status --pgdata="$DATA" >/dev/null 2>&1; then
    # postmaster.pid line 4 is the port the running server listens on.
    PORT=$(sed -n 4p "$DATA/postmaster.pid")
    say "already running on port $PORT"
else
    say "starting on 127.0.0.1:$PORT"
    # 9>&-: the server must not inherit the lock, or it would hold it for its lifetime.
    as_owner "$BINDIR/pg_ctl" start --pgdata="$DATA" --wait --timeout=60 \
        --log="$DIR/postgres.log" -o "-p $PORT" >/dev/null 9>&- \
        || { tail -n 20 "$DIR/postgres.log" >&2; exit 1; }
fi

psql_admin() {
    as_owner "$BINDIR/psql" --host=127.0.0.1 --port="$PORT" --username="$SUPERUSER" \
        --dbname=postgres --no-psqlrc --tuples-only --no-align --quiet "$@"
}
if [ "$(psql_admin --command="SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
    psql_admin --command="CREATE DATABASE \"$DATABASE\"" >/dev/null
fi

echo "postgresql+asyncpg://$SUPERUSER@127.0.0.1:$PORT/$DATABASE"
