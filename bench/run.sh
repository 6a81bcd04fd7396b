#!/usr/bin/env bash
# The benchmark harness: builds hako if needed, then runs bench/bench.py, which starts a
# broker per available storage engine, drives it with `hako perf`, measures baselines in the
# same run and writes docs/benchmarks.md. See bench/README.md.
#
#   bench/run.sh            full run (a few minutes)
#   bench/run.sh --quick    under a minute, for local checks
#   bench/run.sh --engines memory --out /tmp/b.md   (other flags: bench/run.sh --help)
#
# Environment: BUILD (build directory, default build), JOBS (compile jobs, default 2),
# HAKO_BENCH_NO_BUILD=1 to use the existing binary as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}

if [[ -z "${HAKO_BENCH_NO_BUILD:-}" ]]; then
    if [[ ! -f "$BUILD/build.ninja" && ! -f "$BUILD/Makefile" ]]; then
        cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
    fi
    cmake --build "$BUILD" -j"$JOBS" --target hako
fi
[[ -x "$BUILD/hako" ]] || { echo "bench: $BUILD/hako missing; build it first" >&2; exit 1; }

mkdir -p "$BUILD/bench"
if [[ ! -x "$BUILD/bench/tcp_baseline" || bench/tools/tcp_baseline.cc -nt "$BUILD/bench/tcp_baseline" ]]; then
    "${CXX:-c++}" -O2 -std=c++17 -pthread bench/tools/tcp_baseline.cc -o "$BUILD/bench/tcp_baseline"
fi

# Debian's python3 (stdlib only; any python3 >= 3.9 works).
PY=$(command -v /usr/bin/python3 || command -v python3)
exec "$PY" bench/bench.py --hako "$BUILD/hako" --work "$BUILD/bench" "$@"
