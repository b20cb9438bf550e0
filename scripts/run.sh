#!/usr/bin/env bash
# Runs channel-edge locally on http://127.0.0.1:8787 (PORT=... to change): installs what is missing,
# applies the migrations to the local D1 (state in .wrangler/state), and serves `wrangler dev`,
# which builds the Worker and rebuilds it when the source changes. Ctrl-C stops it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${PORT:-8787}"

ensure_toolchain
ensure_dev_vars
cd "$ROOT"

step "Applying D1 migrations to the local database"
# CI=true: apply without the confirmation prompt wrangler shows on a terminal (the state is local).
CI=true wrangler d1 migrations apply DB --local

step "Serving on http://127.0.0.1:$PORT (GET /healthz to check the bindings)"
exec wrangler dev --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false
