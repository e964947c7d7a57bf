# Shared by scripts/test.sh, scripts/demo.sh and scripts/bench.sh: dependencies, build, and a
# private PostgreSQL 15 cluster. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

# Debian 12 packages the build and the tests need.
DEB_PACKAGES=(g++ cmake ninja-build pkg-config libboost1.81-dev libboost-filesystem1.81-dev
  libpqxx-dev libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev libgtest-dev libgmock-dev
  libsystemd-dev postgresql-15 postgresql-contrib curl procps chromium chromium-driver
  libcrypto++-dev libsodium-dev libhnswlib-dev)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

install_deps() {
  local missing=()
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages: ${missing[*]} (run as root once, or: sudo apt-get install ${missing[*]})"
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  local type="${1:-RelWithDebInfo}"
  local extra=()
  [ "${CI:-}" = "true" ] && extra+=(-DSOCIALAI_WERROR=ON)
  log "building ($type) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$type" "${extra[@]}" >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

# Runs a command as the PostgreSQL owner: initdb and postgres refuse to run as root.
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# pg_start DATADIR SOCKETDIR PORT: initdb if needed, start, create database "socialai" and
# the pg_trgm extension. Unix socket only (listen_addresses=''), so the port cannot clash
# with anything on the machine.
# PG_FSYNC=on makes the cluster durable (benchmarks: commits then cost what they cost in
# production); tests run with fsync off.
pg_start() {
  local data="$1" sock="$2" port="$3"
  mkdir -p "$data" "$sock"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$data" "$sock"
    chmod 700 "$data"
    chmod 755 "$sock"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb $data"
    as_pg_owner "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_pg_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg_owner "$PG_BIN/pg_ctl" -D "$data" -m fast stop >/dev/null || true
  fi
  log "starting PostgreSQL on $sock port $port"
  as_pg_owner "$PG_BIN/pg_ctl" -D "$data" -w -l "$data/server.log" \
    -o "-c listen_addresses='' -c unix_socket_directories='$sock' -p $port -c fsync=${PG_FSYNC:-off} -c max_connections=200" \
    start >/dev/null || { tail -20 "$data/server.log" >&2; die "PostgreSQL did not start"; }
  psql -h "$sock" -p "$port" -U postgres -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname = 'socialai'" | grep -q 1 ||
    psql -h "$sock" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE socialai" >/dev/null
  psql -h "$sock" -p "$port" -U postgres -d socialai -qc "CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null
}

pg_stop() {
  local data="$1"
  [ -f "$data/PG_VERSION" ] || return 0
  as_pg_owner "$PG_BIN/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}

# A throw-away PostgreSQL cluster on a free port for this script's lifetime (stopped and removed
# on exit); exports SOCIALAI_TEST_DATABASE_URL.
pg_throwaway() {
  PG_TMP="$(mktemp -d /tmp/socialai-pg.XXXXXX)"
  chmod 755 "$PG_TMP"
  PG_PORT=$((20000 + RANDOM % 20000))
  trap 'pg_stop "$PG_TMP/pg"; rm -rf "$PG_TMP"' EXIT
  pg_start "$PG_TMP/pg" "$PG_TMP/sock" "$PG_PORT"
  export SOCIALAI_TEST_DATABASE_URL="postgresql://postgres@/socialai?host=$PG_TMP/sock&port=$PG_PORT"
  log "test database: $SOCIALAI_TEST_DATABASE_URL"
}

# A directory the PostgreSQL owner can reach: $1 if it can, else one under /var/tmp.
pg_reachable_dir() {
  local want="$1"
  mkdir -p "$want"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$want" 2>/dev/null; then
    local alt="/var/tmp/socialai-$(echo "$want" | md5sum | cut -c1-12)"
    mkdir -p "$alt"
    echo "$alt"
  else
    echo "$want"
  fi
}
