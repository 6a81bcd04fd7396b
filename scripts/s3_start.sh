#!/usr/bin/env bash
# Starts a throwaway S3-compatible server (moto_server, in memory) for the s3:// engine
# tests (idempotent) and prints its endpoint URL, e.g. http://127.0.0.1:54123
# State (pid, port, log) lives in $HAKO_S3_DIR (default: <system temp>/hako-s3);
# scripts/s3_stop.sh stops it. Listens on 127.0.0.1 only.
set -euo pipefail

DIR=${HAKO_S3_DIR:-${TMPDIR:-/tmp}/hako-s3}
MOTO=${MOTO_SERVER:-$(command -v moto_server || true)}

if [[ -z "$MOTO" ]]; then
  echo "s3_start.sh: moto_server not found on PATH; install it with: pip install 'moto[server]'" >&2
  exit 1
fi

url() { echo "http://127.0.0.1:$(cat "$DIR/port")"; }
answers() { python3 - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1)
except Exception as e:
    sys.exit(0 if hasattr(e, "code") else 1)
PY
}

if [[ -f "$DIR/pid" && -f "$DIR/port" ]] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
  url
  exit 0
fi

mkdir -p "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid "$MOTO" -H 127.0.0.1 -p "$PORT" >"$DIR/server.log" 2>&1 < /dev/null &
echo $! >"$DIR/pid"
echo "$PORT" >"$DIR/port"
for _ in $(seq 1 150); do
  if answers "$PORT"; then url; exit 0; fi
  if ! kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then break; fi
  sleep 0.1
done
echo "s3_start.sh: moto_server did not start; its log:" >&2
tail -20 "$DIR/server.log" >&2
exit 1
