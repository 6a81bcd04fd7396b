#!/usr/bin/env bash
# Prepare the machine for the end-to-end suite (tests/e2e):
#   * Debian packages: kcat, the Python Kafka clients for /usr/bin/python3, pytest and
#     the compression modules kafka-python needs (installed only if missing, as root);
#   * npm packages in tests/e2e/js (npm ci, skipped when node_modules matches the lock).
# Idempotent: a second run does nothing and needs no network.
#
# Then:  /usr/bin/python3 -m pytest tests/e2e -q
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
js_dir="$repo/tests/e2e/js"

apt_packages=(
  kcat                    # kcat 1.7.1 (librdkafka 2.0.2)
  python3-confluent-kafka # confluent-kafka-python 1.7.0 (librdkafka 2.0.2)
  python3-kafka           # kafka-python 2.0.2
  python3-pytest
  python3-snappy          # kafka-python snappy codec
  python3-lz4             # kafka-python lz4 codec
  python3-zstandard       # kafka-python zstd codec
)

missing=()
for p in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup_e2e: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
      apt-get update >/dev/null
      apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    }
  else
    echo "setup_e2e: missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# Node.js: @platformatic/kafka 1.x needs >= 20.19.4 (node:zlib zstd needs >= 22.15).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup_e2e: node and npm are required (Node.js >= 20.19.4)" >&2
  exit 1
fi
node -e '
  const [a, b, c] = process.versions.node.split(".").map(Number);
  if (a < 20 || (a === 20 && (b < 19 || (b === 19 && c < 4)))) {
    console.error(`setup_e2e: Node.js ${process.versions.node} is too old, need >= 20.19.4`);
    process.exit(1);
  }'

# npm ci only when the installed tree does not match package-lock.json.
stamp="$js_dir/node_modules/.hako-lock.sha256"
want="$(sha256sum "$js_dir/package-lock.json" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d "$js_dir/node_modules/kafkajs" \
      && -d "$js_dir/node_modules/@platformatic/kafka" ]]; then
  echo "setup_e2e: tests/e2e/js/node_modules up to date"
else
  echo "setup_e2e: npm ci in tests/e2e/js"
  (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
echo "setup_e2e: ready; run: /usr/bin/python3 -m pytest tests/e2e -q"
