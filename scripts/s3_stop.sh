#!/usr/bin/env bash
# Stops the moto_server started by scripts/s3_start.sh and removes its directory.
set -euo pipefail
DIR=${HAKO_S3_DIR:-${TMPDIR:-/tmp}/hako-s3}
[[ -d "$DIR" ]] || exit 0
if [[ -f "$DIR/pid" ]]; then
  pid=$(cat "$DIR/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -rf "$DIR"
