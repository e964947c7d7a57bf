#!/usr/bin/env bash
# Runs every benchmark (tests/bench and the worker families' benches) side by side with its
# references and writes docs/benchmarks.md.
# Usage: scripts/bench.sh [--quick]
#   --quick  every benchmark at a small size (CI runs this to keep them working); prints the
#            tables and leaves docs/ alone.
# Installs what the comparisons need: supervisor (apt, as root) and PM2 (npm, pinned, into
# .cache/bench-tools). Starts a throw-away PostgreSQL cluster for the database benchmarks.
BUILD_DIR="${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build-release}"
source "$(dirname "$0")/lib.sh"

quick=""
case "${1:-}" in
  --quick) quick="--quick" ;;
  "") ;;
  *) die "usage: scripts/bench.sh [--quick]" ;;
esac

PM2_VERSION=7.0.4
BENCH_TOOLS="$ROOT/.cache/bench-tools"
DEB_PACKAGES+=(supervisor)
# Node.js may come from elsewhere (e.g. nodesource, with npm inside); add Debian's only if absent.
command -v npm >/dev/null || DEB_PACKAGES+=(nodejs npm)
install_deps
if [ ! -x "$BENCH_TOOLS/node_modules/.bin/pm2" ]; then
  log "installing pm2@$PM2_VERSION into $BENCH_TOOLS"
  npm install --no-audit --no-fund --loglevel=error --prefix "$BENCH_TOOLS" "pm2@$PM2_VERSION" >&2 ||
    log "pm2 could not be installed; its column will be skipped"
fi
build "${BUILD_TYPE:-Release}"
# A durable cluster (fsync on, as in production): commit costs are part of what is compared.
PG_FSYNC=on pg_throwaway

started=$(date +%s)
sections=()
# run_bench TITLE BINARY [ARGS...]: runs one benchmark, prints and keeps its table.
run_bench() {
  local title="$1" name="$2"; shift 2
  local bin
  bin="$(find "$BUILD_DIR/tests" -name "$name" -type f -perm -u+x | head -1)"
  if [ -z "$bin" ]; then
    log "skipping $title: $name is not built"
    return 0
  fi
  log "benchmark: $title"
  local out
  out="$("$bin" $quick "$@")" || die "$name failed"
  printf '\n## %s\n\n%s\n' "$title" "$out"
  local notes="$ROOT/tests/bench/notes/$name.md"
  local section
  section="$(printf '## %s\n\n%s\n' "$title" "$out")"
  if [ -f "$notes" ]; then
    section+="$(printf '\n\n%s' "$(cat "$notes")")"
  fi
  sections+=("$section")
}

run_bench "Supervisor: socialai-manager, supervisord and PM2" bench_supervisor \
  --supervisord "$(command -v supervisord || echo missing)" --pm2 "$BENCH_TOOLS/node_modules/.bin/pm2"
run_bench "Logs from many children at once" bench_log_fanin \
  --supervisord "$(command -v supervisord || echo missing)" --pm2 "$BENCH_TOOLS/node_modules/.bin/pm2"
run_bench "Worker runtime: flag changes and idle queries" bench_runtime
run_bench "Farcaster ingest" farcaster_bench
run_bench "Farcaster events mode" farcaster_events_bench
run_bench "Search" bench_search
run_bench "AI: local embeddings and nearest neighbours" ai_bench
run_bench "EVM: RPC calls per 1,000 wallets" evm_bench

log "benchmarks took $(( $(date +%s) - started )) s"
[ -n "$quick" ] && exit 0

{
  cat <<HEAD
# Benchmarks

Measured by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),
$(uname -sr), a ${BUILD_TYPE:-Release} build. Every figure is beside its reference measured in the same run;
these machines are shared and noisy, so read the ratios and the spread, not single numbers.
The whole run took $(( $(date +%s) - started )) s. SPEC §10 lists the targets.
HEAD
  for s in "${sections[@]}"; do
    printf '\n%s\n' "$s"
  done
} > "$ROOT/docs/benchmarks.md"
log "wrote docs/benchmarks.md"
