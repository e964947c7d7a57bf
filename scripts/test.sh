#!/usr/bin/env bash
# Installs what is missing, builds, starts a throw-away PostgreSQL 15 cluster and runs ctest.
# Exits non-zero on any failure. Usage: scripts/test.sh [ctest args...]
source "$(dirname "$0")/lib.sh"

install_deps
build RelWithDebInfo

pg_throwaway

cd "$BUILD_DIR"
# No retries: a test that needs one is a bug to fix (every kill test waits for a progress
# signal, never for a timer). Benchmarks (label bench) run in scripts/bench.sh --quick, which CI also runs.
ctest --output-on-failure --timeout 300 -j 2 -LE bench "$@"
