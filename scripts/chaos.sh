#!/usr/bin/env bash
# Chaos run (docs/reliability.md): the sync workers under socialai-manager against the devnet,
# while this script kill -9s random workers and the manager itself at random instants and stops
# PostgreSQL once mid-cycle, while the devnet's Farcaster hub streams new events (adds, removes,
# prunes, revokes, profile changes, some of them late) that the farcaster worker follows in
# events mode. Afterwards every synced table (and every cursor) must equal what one clean,
# undisturbed sync of the final devnet data produces: nothing lost, nothing doubled.
# Also checks that the manager reports the database down while it is, and that nothing is left
# running at the end.
#
# Usage: scripts/chaos.sh [SECONDS]   (default 60; CI runs it with the default)
source "$(dirname "$0")/lib.sh"

duration="${1:-60}"
install_deps
build RelWithDebInfo
pg_throwaway
B="$BUILD_DIR"
SOCK="$PG_TMP/sock"
WORK="$PG_TMP/chaos"
mkdir -p "$WORK"
RANDOM=4242  # the same sequence of chaos on every run

devnet_pid="" manager_pid=""
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -d "$WORK" ]; then
    rm -rf "${CHAOS_KEEP:-/tmp/socialai-chaos-failed}"
    cp -r "$WORK" "${CHAOS_KEEP:-/tmp/socialai-chaos-failed}"
    log "logs kept in ${CHAOS_KEEP:-/tmp/socialai-chaos-failed}"
  fi
  [ -n "$manager_pid" ] && kill -9 "$manager_pid" 2>/dev/null || true
  [ -n "$devnet_pid" ] && kill "$devnet_pid" 2>/dev/null || true
  pkill -9 -f "^$B/socialai-worker-" 2>/dev/null || true
  pg_stop "$PG_TMP/pg"
  rm -rf "$PG_TMP"
}
trap cleanup EXIT

psql_db() { psql -h "$SOCK" -p "$PG_PORT" -U postgres -d "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
for db in clean chaos; do psql_db postgres "CREATE DATABASE $db"; psql_db $db "CREATE EXTENSION pg_trgm"; done
url_of() { echo "postgresql://postgres@/$1?host=$SOCK&port=$PG_PORT"; }

# --- devnet: one data set for both runs (no growth, no faults unless set below)
"$B/socialai-devnet" --listen 127.0.0.1:0 --seed 7 --reddit-rate-limit 1000000 \
  >"$WORK/devnet.out" 2>"$WORK/devnet.err" &
devnet_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/devnet.out" 2>/dev/null && break; sleep 0.1; done
DEVNET="http://$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$WORK/devnet.out")"
[ "$DEVNET" != "http://" ] || die "devnet did not start: $(cat "$WORK/devnet.err")"

# The sync workers that are built, with their devnet settings.
workers=()
for w in farcaster reddit ethereum base solana; do
  [ -x "$B/socialai-worker-$w" ] && workers+=("$w")
done
[ ${#workers[@]} -gt 0 ] || die "no sync worker is built"
log "chaos over ${workers[*]} for $duration s"

write_config() {  # write_config DB FILE INTERVAL_MS
  local db_url; db_url="$(url_of "$1")"
  python3 - "$db_url" "$DEVNET" "$3" "${workers[@]}" >"$2" <<'PY'
import json, sys, urllib.request
url, devnet, interval, names = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
def get(path):
  with urllib.request.urlopen(devnet + path) as r:
    return json.load(r)
def evm(chain):
  info = get("/_devnet/evm/%d/info" % chain)
  return {"rpc_url": devnet + "/evm/%d" % chain, "confirmations": 3, "start_block": 0,
          "tokens": [t["address"] for t in info["tokens"]],
          "collections": [c["address"] for c in info["collections"]],
          "wallets": [w if isinstance(w, str) else w["address"] for w in info["wallets"]]}
specific = {
  "farcaster": {"hub_url": devnet + "/farcaster", "fids": [1, 2, 3, 4, 5, 6]},
  "reddit": {"subreddits": ["ethereum", "solana"], "base_url": devnet + "/reddit",
             "auth_url": devnet + "/reddit/api/v1/access_token",
             "client_id": "devnet-client", "client_secret": "devnet-secret"},
  "ethereum": evm(1) if "ethereum" in names else {},
  "base": evm(8453) if "base" in names else {},
  "solana": {"rpc_url": devnet + "/solana",
             "wallets": get("/_devnet/solana/wallets") if "solana" in names else []},
}
workers = {n: dict(specific[n], interval_ms=interval) for n in names}
print(json.dumps({"database": {"url": url}, "http": {"listen": "127.0.0.1:0"},
                  "healdec": {"restart_delay_ms": 100, "max_restarts": 1000000,
                              "backoff_max_ms": 1000, "stop_timeout_ms": 5000},
                  "workers": workers}, indent=1))
PY
}

# Migrations, and every flag on (reddit is seeded off).
prepare() {  # prepare DB
  write_config "$1" "$WORK/$1-once.json" 1000
  "$B/socialai-manager" --config "$WORK/$1-once.json" --migrate >>"$WORK/$1-once.log" 2>&1
  psql_db "$1" "UPDATE feature_flags SET enabled = true"
}

# Runs every worker --once, three times over, so each reaches the end of the devnet's data.
converge() {  # converge DB
  for round in 1 2 3; do
    for w in "${workers[@]}"; do
      "$B/socialai-worker-$w" --config "$WORK/$1-once.json" --once >>"$WORK/$1-once.log" 2>&1 ||
        log "$1: $w --once round $round failed (see $WORK/$1-once.log)"
    done
  done
}

# Every synced table as sorted JSON rows without surrogate ids and bookkeeping timestamps.
TABLES=(profiles external_posts reactions follows wallets token_balances nft_holdings
        chain_transactions sync_state)
dump() {  # dump DB -> $WORK/DB.dump
  : >"$WORK/$1.dump"
  for t in "${TABLES[@]}"; do
    echo "== $t" >>"$WORK/$1.dump"
    # The farcaster event cursors are positions in a time-stamped stream (each run starts at the
    # hub's head of its own moment), so they cannot match between runs; every other row must.
    local where=""
    [ "$t" = sync_state ] && where="WHERE key NOT LIKE 'events:%'"
    psql_db "$1" "SELECT r FROM (SELECT (to_jsonb(x) - 'id' - 'updated_at' - 'search_vector'
                    - 'search_pending' - 'tags')::text AS r FROM $t x $where) s ORDER BY r" >>"$WORK/$1.dump"
  done
}

prepare clean
prepare chaos

# --- chaos
status_json() { curl -s --max-time 2 "http://127.0.0.1:$MANAGER_PORT/api/workers/status" || true; }
start_manager() {
  # Port 0: the manager binds a free port and logs it (a random fixed port can collide with
  # one of the many client connections' ephemeral ports on 127.0.0.1).
  write_config chaos "$WORK/chaos.json" 300
  local from
  from=$(($(wc -l <"$WORK/manager.log" 2>/dev/null || echo 0) + 1))
  "$B/socialai-manager" --config "$WORK/chaos.json" >>"$WORK/manager.log" 2>&1 &
  manager_pid=$!
  MANAGER_PORT=""
  for _ in $(seq 100); do
    MANAGER_PORT="$(tail -n +"$from" "$WORK/manager.log" |
      sed -n 's/.*\[manager\].*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' | tail -1)"
    [ -n "$MANAGER_PORT" ] && status_json | grep -q '"name"' && return 0
    sleep 0.1
  done
  die "manager did not come up: $(tail -20 "$WORK/manager.log")"
}
random_worker_pid() {
  status_json | python3 -c 'import json,random,sys
rows=[r for r in json.load(sys.stdin) if r.get("pid")]
random.seed(int(sys.argv[1]))
print(random.choice(rows)["pid"] if rows else "")' "$RANDOM" 2>/dev/null || true
}

start_manager
curl -s -X POST "$DEVNET/_devnet/faults" -d '{"service":"*","rate":0.1}' >/dev/null
kills=0 manager_kills=0 db_down_seen=0 db_stopped=0 round=0 events_posted=0
end=$((SECONDS + duration))
while [ $SECONDS -lt $end ]; do
  sleep "0.$((2 + RANDOM % 8))"
  round=$((round + 1))
  # New hub events for the stream path (every kind), and a few late casts (ids behind ones
  # served). Late events of other kinds are not posted: one that conflicts with a newer change
  # of the same row is applied in id order, not by message timestamp (docs/farcaster.md), and
  # only the slow repair pass heals that, which the converging runs below do not wait for.
  curl -s --max-time 5 -X POST "$DEVNET/_devnet/farcaster/events" \
    -d "{\"count\": $((10 + RANDOM % 40)), \"fids\": [1, 2, 3, 4, 5, 6]}" \
    >/dev/null && events_posted=$((events_posted + 1))
  curl -s --max-time 5 -X POST "$DEVNET/_devnet/farcaster/events" \
    -d '{"count": 3, "fids": [1, 2, 3, 4, 5, 6], "kinds": ["cast_add"], "late": 3, "late_ms": 2000}' \
    >/dev/null
  roll=$((RANDOM % 100))
  [ $((round % 12)) -eq 6 ] && roll=0  # the manager too, every dozen rounds at least
  if [ $db_stopped -eq 0 ] && [ $SECONDS -ge $((end - duration / 2)) ]; then
    log "stopping PostgreSQL mid-cycle"
    as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/pg" -m immediate stop >/dev/null
    db_stopped=1
    for _ in $(seq 50); do
      status_json | grep -q '"database":"down"' && { db_down_seen=1; break; }
      sleep 0.2
    done
    sleep 2
    pg_start "$PG_TMP/pg" "$SOCK" "$PG_PORT" >/dev/null 2>&1
    log "PostgreSQL is back (manager reported it down: $db_down_seen)"
  elif [ $roll -lt 10 ]; then
    kill -9 "$manager_pid" 2>/dev/null || true
    wait "$manager_pid" 2>/dev/null || true
    manager_kills=$((manager_kills + 1))
    # PR_SET_PDEATHSIG SIGKILLs the workers as the manager dies; give a loaded machine up to
    # 5 s to finish them off.
    for _ in $(seq 50); do
      left="$(pgrep -f "^$B/socialai-worker-" || true)"
      [ -z "$left" ] && break
      sleep 0.1
    done
    if [ -n "$left" ]; then
      die "workers outlived the killed manager: $(ps -o pid,ppid,stat,etime,args -p "$(echo $left | tr ' ' ',')")"
    fi
    start_manager
  else
    pid="$(random_worker_pid)"
    if [ -n "$pid" ]; then
      kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    fi
  fi
done
log "chaos done: $kills worker kills, $manager_kills manager kills, PostgreSQL stopped once, $events_posted batches of hub events"
curl -s -X POST "$DEVNET/_devnet/faults" -d '{"service":"*","rate":0}' >/dev/null
kill -TERM "$manager_pid"
wait "$manager_pid" || die "manager exited with $? after SIGTERM"
manager_pid=""
left="$(pgrep -f "^$B/socialai-worker-" || true)"
[ -z "$left" ] || die "processes left behind after the manager stopped: $left"

# The stream path ran under the chaos (events mode: a cursor per shard), not only in the
# converging runs below.
stream_cursors=$(psql_db chaos "SELECT count(*) FROM sync_state WHERE key LIKE 'events:%'")
[ "$stream_cursors" -gt 0 ] || die "the farcaster worker never followed the hub's event stream"
log "before converging: $stream_cursors event cursors, $(psql_db chaos "SELECT count(*) FROM external_posts WHERE source = 'farcaster'") farcaster casts"
# The clean run syncs the final data (the events changed it) from nothing, undisturbed.
log "clean run"
converge clean
dump clean
log "converging the chaos database"
converge chaos
dump chaos

[ $db_down_seen -eq 1 ] || die "the manager never reported the database down"
if ! diff -u "$WORK/clean.dump" "$WORK/chaos.dump" >"$WORK/diff.txt"; then
  head -40 "$WORK/diff.txt" >&2
  die "tables differ after chaos (full diff: $WORK/diff.txt)"
fi
rows=$(grep -vc '^== ' "$WORK/clean.dump")
log "chaos ok: $rows rows in ${#TABLES[@]} tables equal the clean run; $kills worker kills, $manager_kills manager kills, 1 database stop"
