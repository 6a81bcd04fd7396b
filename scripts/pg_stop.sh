#!/usr/bin/env bash
# Stops the PostgreSQL started by scripts/pg_start.sh and removes its directory.
set -euo pipefail
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
DIR=${HAKO_PG_DIR:-${TMPDIR:-/tmp}/hako-pg}
[[ -d "$DIR" ]] || exit 0
if [[ -f "$DIR/data/postmaster.pid" ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null || true
  else
    "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null || true
  fi
fi
rm -rf "$DIR"
