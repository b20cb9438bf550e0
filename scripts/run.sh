#!/usr/bin/env bash
# Runs channel-edge locally: installs what is missing, applies the migrations to the local D1
# (state in .wrangler/state), seeds the root principal, builds the Worker, serves it with
# `wrangler dev` (which rebuilds on every source change), loads seed/dev-dataset.json through the
# admin API and prints its ids. Beside it runs a stand-in agent runtime on AGENT_RUNTIME_URL that
# prints every envelope delivered. Ctrl-C stops everything.
#
#   scripts/run.sh [--reset] [--fake-providers] [--no-runtime] [--var NAME=VALUE]...
#
#   --reset           start from an empty local database (deletes .wrangler/state)
#   --fake-providers  point the provider API base URLs at local stand-ins (dev-providers), so
#                     binding sessions and answers work without real Slack/Telegram/… accounts
#   --no-runtime      do not start the stand-in agent runtime (run your own on AGENT_RUNTIME_URL)
#   --var NAME=VALUE  override a wrangler.toml var for this run (repeatable; NAME:VALUE, as
#                     wrangler and scripts/deploy.sh write it, works too)
#
# PORT (default 8787) and HOST (default 127.0.0.1) choose where it listens; PUBLIC_BASE_URL
# follows them. FAKE_PROVIDERS_PORT (default 8791) is where the stand-ins listen.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${PORT:-8787}"
HOST="${HOST:-127.0.0.1}"
FAKE_PROVIDERS_PORT="${FAKE_PROVIDERS_PORT:-8791}"
READY_TIMEOUT_SECONDS=300
BASE="http://$HOST:$PORT"

reset=0 fake_providers=0 runtime=1
vars=()
while [ $# -gt 0 ]; do
  case "$1" in
    --reset) reset=1 ;;
    --fake-providers) fake_providers=1 ;;
    --no-runtime) runtime=0 ;;
    --var)
      # NAME=VALUE, or wrangler's own NAME:VALUE.
      if [[ "${2:-}" =~ ^([A-Za-z_][A-Za-z0-9_]*)[=:](.*)$ ]]; then
        vars+=("${BASH_REMATCH[1]}:${BASH_REMATCH[2]}")
      else
        die "--var needs NAME=VALUE (or NAME:VALUE)"
      fi
      shift
      ;;
    -h|--help) sed -n '2,/^source/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
  shift
done

# The value this run gives a wrangler.toml var: a --var override, else wrangler.toml's.
var_value() {
  local pair
  for pair in "${vars[@]+"${vars[@]}"}"; do
    [ "${pair%%:*}" = "$1" ] && { echo "${pair#*:}"; return; }
  done
  sed -n "s/^$1 = \"\(.*\)\"$/\1/p" "$ROOT/wrangler.toml"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_toolchain
ensure_dev_vars
cd "$ROOT"
port_free "$PORT" || die "port $PORT is in use (another scripts/run.sh?): stop it, or choose another with PORT=..."

if [ "$reset" = 1 ]; then
  step "Deleting the local state (.wrangler/state)"
  rm -rf "$ROOT/.wrangler/state"
fi

# CI=true: wrangler applies without the confirmation prompt it shows on a terminal (the state is local).
step "Applying D1 migrations to the local database"
CI=true wrangler d1 migrations apply DB --local

step "Seeding the root principal (public key only; seed/root-principal.sql)"
CI=true wrangler d1 execute DB --local --file seed/root-principal.sql

step "Building the development tools (admin CLI, seed loader, stand-in runtime and providers)"
cargo build --quiet --locked -p channel-edge -p channel-edge-e2e --bin channel-edge-admin \
  --bin load-seed --bin dev-runtime --bin dev-providers

step "Building the Worker (development build; the first one compiles every dependency)"
export CHANNEL_EDGE_BUILD=dev
bash "$ROOT/scripts/build.sh"

pids=()
# Every process started here runs in its own process group; stop each whole group on exit.
trap 'for pid in "${pids[@]+"${pids[@]}"}"; do kill -TERM -- -"$pid" 2>/dev/null || true; done' EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND...: runs COMMAND in the background in its own process group.
start() {
  shift
  setsid "$@" &
  pids+=("$!")
}

runtime_url="$(var_value AGENT_RUNTIME_URL)"
if [ "$runtime" = 1 ]; then
  # The stand-in listens where the worker delivers (host:port of AGENT_RUNTIME_URL).
  runtime_address="$(echo "$runtime_url" | sed -E 's#^https?://([^/]+).*#\1#')"
  port_free "${runtime_address##*:}" \
    || die "$runtime_address (AGENT_RUNTIME_URL) is in use: stop what listens there, or pass --no-runtime to deliver to it"
  step "Starting the stand-in agent runtime on $runtime_url (it prints every envelope)"
  start runtime "$ROOT/target/debug/dev-runtime" "$runtime_address"
fi

if [ "$fake_providers" = 1 ]; then
  port_free "$FAKE_PROVIDERS_PORT" \
    || die "port $FAKE_PROVIDERS_PORT (the provider stand-ins) is in use: choose another with FAKE_PROVIDERS_PORT=..."
  fake="http://127.0.0.1:$FAKE_PROVIDERS_PORT"
  step "Starting the provider stand-ins on $fake"
  start providers "$ROOT/target/debug/dev-providers" "127.0.0.1:$FAKE_PROVIDERS_PORT"
  vars=("TELEGRAM_API_BASE_URL:$fake/telegram" "GRAPH_API_BASE_URL:$fake/graph"
    "SLACK_API_BASE_URL:$fake/slack/api" "SLACK_AUTHORIZE_URL:$fake/slack/oauth/v2/authorize"
    "DISCORD_API_BASE_URL:$fake/discord" "LINE_API_BASE_URL:$fake/line"
    "INSTAGRAM_API_BASE_URL:$fake/instagram" "LINEAR_API_BASE_URL:$fake/linear"
    "GITHUB_API_BASE_URL:$fake/github" "TWILIO_API_BASE_URL:$fake/twilio"
    "TEAMS_LOGIN_BASE_URL:$fake/teams-login" "TEAMS_SERVICE_URLS:$fake/teams/"
    "GOOGLE_CHAT_API_BASE_URL:$fake/chat" "GOOGLE_OAUTH_TOKEN_URL:$fake/google-oauth/token"
    "BOTFRAMEWORK_JWKS_URL:$fake/keys/botframework" "GOOGLE_CHAT_JWKS_URL:$fake/keys/google-chat"
    "GOOGLE_OIDC_JWKS_URL:$fake/keys/google" "${vars[@]+"${vars[@]}"}")
fi

var_flags=(--var "PUBLIC_BASE_URL:$BASE")
for pair in "${vars[@]+"${vars[@]}"}"; do var_flags+=(--var "$pair"); done

step "Serving on $BASE"
start wrangler wrangler dev --ip "$HOST" --port "$PORT" --show-interactive-dev-session=false "${var_flags[@]}"
wrangler_pid="${pids[-1]}"

note "waiting for the worker to answer"
deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
until curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; do
  kill -0 "$wrangler_pid" 2>/dev/null || die "wrangler dev exited before it was ready (its output is above); run scripts/run.sh again"
  [ "$SECONDS" -lt "$deadline" ] || die "wrangler dev did not answer within ${READY_TIMEOUT_SECONDS}s (its output is above)"
  sleep 1
done

step "Loading seed/dev-dataset.json through the admin API"
"$ROOT/target/debug/load-seed" "$BASE"

step "Ready: $BASE (Ctrl-C to stop). Edit src/ and wrangler dev rebuilds within seconds."
note "In another terminal: export EDGE=$BASE PATH=\"$ROOT/target/debug:\$PATH\", then e.g."
note "channel-edge-admin webhook telegram --to <acme_telegram's id above> --text hi"
wait "$wrangler_pid"
