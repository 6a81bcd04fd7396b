#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 for the tests (idempotent) and prints its URL, e.g.
#   postgres://postgres@127.0.0.1:54321/hako
# The cluster lives in $HAKO_PG_DIR (default: <system temp>/hako-pg); scripts/pg_stop.sh
# stops it and removes the directory. Listens on 127.0.0.1 only, trust auth, no fsync
# (test data only). As root, the server runs as user `postgres` (initdb refuses root).
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
DIR=${HAKO_PG_DIR:-${TMPDIR:-/tmp}/hako-pg}
DATA=$DIR/data

if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
  echo "pg_start.sh: PostgreSQL server binaries not found (apt-get install postgresql-15, or run scripts/setup.sh)" >&2
  exit 1
fi

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgres://postgres@127.0.0.1:$(cat "$DIR/port")/hako"; }

if [[ -f "$DIR/port" ]] && as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  url
  exit 0
fi

mkdir -p "$DIR"
chmod 755 "$DIR"
if [[ $(id -u) -eq 0 ]]; then chown postgres "$DIR"; fi
if [[ ! -f "$DATA/PG_VERSION" ]]; then
  as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# fsync off: a throwaway test server (the machine does not crash under the tests; the
# server process does, in test_postgres.py, so synchronous_commit stays on: a commit is
# in the kernel before COMMIT returns). max_connections covers many brokers' pools.
as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c full_page_writes=off -c max_connections=400" \
  start >/dev/null || { tail -20 "$DIR/server.log" >&2; exit 1; }
echo "$PORT" >"$DIR/port"
as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtc \
  "SELECT 1 FROM pg_database WHERE datname = 'hako'" | grep -q 1 ||
  as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres hako
url
