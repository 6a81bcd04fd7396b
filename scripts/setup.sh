#!/usr/bin/env bash
# Installs every Debian package the build and the tests need, then the npm test peers.
# Idempotent: installs only what is missing and says what it installs. The only install
# step of the project (README: `make run`, `make test`).
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config ccache mold clang-14 python3
  libboost-dev libssl-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libsqlite3-dev libpq-dev
  # real Kafka clients for the end-to-end tests
  librdkafka-dev kcat python3-kafka python3-confluent-kafka python3-pytest
  python3-snappy python3-lz4 python3-zstandard
  # a throwaway PostgreSQL server for the postgres:// engine tests (scripts/pg_start.sh)
  postgresql-15 python3-psycopg2
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all Debian packages present"
fi

# npm test peers (kafkajs, @platformatic/kafka), pinned by tests/e2e/js/package-lock.json
if [ -x "$(dirname "$0")/setup_e2e.sh" ]; then
  "$(dirname "$0")/setup_e2e.sh"
fi
