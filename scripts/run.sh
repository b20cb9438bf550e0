#!/usr/bin/env bash
# Runs channel-edge locally on http://127.0.0.1:8787 (PORT=... to change): installs what is missing,
# applies the migrations to the local D1 (state in .wrangler/state), seeds the root principal,
# serves `wrangler dev` (which builds the Worker and rebuilds it when the source changes), and loads
# seed/dev-dataset.json through the admin API once the worker answers. Ctrl-C stops it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${PORT:-8787}"
READY_TIMEOUT_SECONDS=300

ensure_toolchain
ensure_dev_vars
cd "$ROOT"

# CI=true: wrangler applies without the confirmation prompt it shows on a terminal (the state is local).
step "Applying D1 migrations to the local database"
CI=true wrangler d1 migrations apply DB --local

step "Seeding the root principal (public key only; seed/root-principal.sql)"
CI=true wrangler d1 execute DB --local --file seed/root-principal.sql

step "Building the seed loader"
cargo build --quiet --locked -p channel-edge-e2e --bin load-seed

step "Serving on http://127.0.0.1:$PORT"
setsid wrangler dev --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false &
WRANGLER_PID=$!
# wrangler and workerd run in their own process group; stop the whole group on exit.
trap 'kill -TERM -- -"$WRANGLER_PID" 2>/dev/null || true' EXIT INT TERM

note "waiting for the worker to answer (the first build takes a minute or two)"
deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; do
  kill -0 "$WRANGLER_PID" 2>/dev/null || die "wrangler dev exited before it was ready (see its output above)"
  [ "$SECONDS" -lt "$deadline" ] || die "wrangler dev did not answer within ${READY_TIMEOUT_SECONDS}s"
  sleep 1
done

step "Loading seed/dev-dataset.json through the admin API"
"$ROOT/target/debug/load-seed" "http://127.0.0.1:$PORT"

step "Ready: http://127.0.0.1:$PORT/healthz (Ctrl-C to stop)"
wait "$WRANGLER_PID"
