#!/usr/bin/env bash
# Brings the whole product up on this machine: packages (apt, when root), build, a private
# PostgreSQL cluster under var/, socialai-devnet (when built), migrations, then
# socialai-manager --config config/dev.json in the foreground. Ctrl-C stops everything.
# Re-running reuses var/ (the database survives).
source "$(dirname "$0")/lib.sh"

install_deps
build RelWithDebInfo

mkdir -p "$ROOT/var"
state="$(pg_reachable_dir "$ROOT/var")"   # /var/tmp/... when postgres cannot reach the repo
[ "$state" != "$ROOT/var" ] && ln -sfn "$state" "$ROOT/var/cluster" || true
port="${SOCIALAI_DEMO_PG_PORT:-5499}"
pg_start "$state/pg" "$state/run" "$port"
export DATABASE_URL="postgresql://postgres@/socialai?host=$state/run&port=$port"
# Developers running one worker by hand from the repo root get the same database (.env is
# loaded by every binary and never overrides the real environment).
printf 'DATABASE_URL=%s\n' "$DATABASE_URL" > "$ROOT/var/demo.env"
[ -e "$ROOT/.env" ] || cp "$ROOT/var/demo.env" "$ROOT/.env"

pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pg_stop "$state/pg"
  log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -x "$BUILD_DIR/socialai-devnet" ]; then
  log "starting socialai-devnet on 127.0.0.1:4310"
  # A few Farcaster events a second, so the farcaster worker's event tail has something to show.
  "$BUILD_DIR/socialai-devnet" --listen 127.0.0.1:4310 --seed 1 --farcaster-event-rate 2 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf 127.0.0.1:4310/_devnet/health >/dev/null && break; sleep 0.1; done
else
  log "socialai-devnet is not built yet; workers that need it will report their errors"
fi

cd "$ROOT"
"$BUILD_DIR/socialai-manager" --config config/dev.json --migrate
# The demo runs every worker: reddit is seeded disabled (it needs credentials in production),
# and the Solana worker tracks the devnet's wallets (they depend on the devnet's seed).
sql=(-h "$state/run" -p "$port" -U postgres -d socialai -qAtX -v ON_ERROR_STOP=1)
psql "${sql[@]}" -c "UPDATE feature_flags SET enabled = true WHERE flag_name = 'reddit_enabled'"
if wallets="$(curl -sf 127.0.0.1:4310/_devnet/solana/wallets)"; then
  # psql quotes the value itself (:'v'); variables are interpolated in scripts, not in -c.
  echo "INSERT INTO settings (key, value) VALUES ('solana_wallets', :'v')
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;" | psql "${sql[@]}" -v v="$wallets"
fi
log "socialai-manager on http://127.0.0.1:4200 (status: curl 127.0.0.1:4200/api/workers/status); Ctrl-C stops"
PATH="$BUILD_DIR:$PATH" "$BUILD_DIR/socialai-manager" --config config/dev.json &
pids+=($!)
wait "${pids[-1]}"
