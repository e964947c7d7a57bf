#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan + coverage) and runs
# each for SECONDS (default 10), one after the other, over a copy of its seed corpus.
# Prints per target: executions, exec/s, coverage (cov/ft from libFuzzer's final status),
# new corpus entries and crashes. Exits non-zero if any target crashed, leaked, timed out or
# ran out of memory; the input that did it is kept under $FUZZ_OUT/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   FUZZ_BUILD_DIR  clang build tree (default $ROOT/build-fuzz)
#   FUZZ_OUT        work directory: corpora, logs, crash inputs (default: a new /tmp dir)
#   FUZZ_CXX        compiler (default clang++-14, else clang++)
#   FUZZ_MAX_LEN    libFuzzer -max_len (default 16384)
#   FUZZ_SEED       libFuzzer -seed (default 1: a run is reproducible; 0 = random)
#   FUZZ_JOBS       build parallelism (default nproc)
source "$(dirname "$0")/lib.sh"
DEB_PACKAGES+=(clang-14 libclang-rt-14-dev)
install_deps

seconds="${1:-10}"
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }
build_dir="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
out="${FUZZ_OUT:-$(mktemp -d /tmp/socialai-fuzz.XXXXXX)}"
cxx="${FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}"
max_len="${FUZZ_MAX_LEN:-16384}"
seed="${FUZZ_SEED:-1}"
[ -n "$cxx" ] || { echo "error: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }

mkdir -p "$out"
log "building the fuzz targets with $cxx in $build_dir"
CXX="$cxx" cmake -S "$ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSOCIALAI_FUZZ=ON >"$out/cmake.log" 2>&1 || { cat "$out/cmake.log" >&2; exit 1; }
cmake --build "$build_dir" -j "${FUZZ_JOBS:-$(nproc)}" --target socialai_fuzz_all

status=0
rows=()
while read -r name binary seeds; do
  [ -n "$name" ] || continue
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
    continue
  fi
  work="$out/$name"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -r "$seeds/." "$work/corpus/"
  seed_count=$(find "$work/corpus" -type f | wc -l)
  dict=()
  [ -f "$ROOT/tests/fuzz/dict/$name.dict" ] && dict=(-dict="$ROOT/tests/fuzz/dict/$name.dict")
  log "fuzzing $name for ${seconds}s ($seed_count seeds)"
  rc=0
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -max_len="$max_len" -seed="$seed" -artifact_prefix="$work/artifacts/" "${dict[@]}" "$work/corpus" \
      >"$work/fuzz.log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$work/fuzz.log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(find "$work/corpus" -type f | wc -l)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    log "$name: FINDING (exit $rc); log $work/fuzz.log, inputs:"
    find "$work/artifacts" -type f >&2
    grep -m1 -E 'ERROR: |runtime error|fuzz invariant failed|deadly signal' "$work/fuzz.log" >&2 || true
  fi
  rows+=("$(printf '%-24s %12s %9s %7s %7s %7s %8s' "$name" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$corpus" "$crashes")")
done <"$build_dir/fuzz_targets.txt"

printf '\n%-24s %12s %9s %7s %7s %7s %8s\n' target execs exec/s cov ft corpus crashes
printf '%s\n' "${rows[@]}"
printf '\n(%ss per target; work directory %s)\n' "$seconds" "$out"
exit "$status"
