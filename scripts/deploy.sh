#!/usr/bin/env bash
# Deploys channel-edge to Cloudflare, refusing first what would deploy a broken worker:
#
#   1. the configuration (scripts/deploy-check.mjs, offline): PUBLIC_BASE_URL, AGENT_RUNTIME_URL
#      and every other *_URL var must be public https URLs (no http://, loopback, localhost,
#      private, link-local or .local host; PUBLIC_BASE_URL a bare origin), and the D1
#      database_id must not be wrangler.toml's placeholder;
#   2. the Worker's secrets: every name in .dev.vars.example (MASTER_KEYS, AGENT_RUNTIME_SECRET)
#      must be set (`wrangler secret list`);
#   3. the release build (scripts/build.sh, which fails over the Wasm budget);
#   4. the D1 migrations, applied remotely, then the root principal: the DEV-ONLY root key must
#      not be one;
#   5. `wrangler deploy`, then GET {PUBLIC_BASE_URL}/healthz must answer "ok".
#
# --dry-run runs what needs no Cloudflare account: 1, 3 and `wrangler deploy --dry-run` (bundles
# and checks the Worker offline, uploads nothing).
#
# Values are read from the Wrangler config (wrangler.toml, or --config FILE, or
# $CHANNEL_EDGE_WRANGLER_CONFIG) and its [vars], with `--var NAME:VALUE` overriding a [vars]
# value (checked, and passed on to `wrangler deploy`). No .env file is read.
# CHANNEL_EDGE_WRANGLER names a stand-in for wrangler's Cloudflare calls (tests).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/deploy.sh [--dry-run] [--skip-build] [--config FILE] [--var NAME:VALUE]...

  --dry-run          check, build and `wrangler deploy --dry-run`: no Cloudflare account needed
  --skip-build       with --dry-run: use the release build in build/ (its size is checked; a
                     development build left by scripts/run.sh is rebuilt)
  --config FILE      the Wrangler config, beside wrangler.toml (default: wrangler.toml, or
                     $CHANNEL_EDGE_WRANGLER_CONFIG)
  --var NAME:VALUE   override a [vars] value (repeatable); checked like [vars], passed to wrangler
EOF
}

DRY_RUN=0
SKIP_BUILD=0
CONFIG="${CHANNEL_EDGE_WRANGLER_CONFIG:-$ROOT/wrangler.toml}"
VARS=()
WRANGLER="${CHANNEL_EDGE_WRANGLER:-wrangler}"
DEV_ROOT_KEY_SQL="$ROOT/seed/root-principal.sql"
export CHANNEL_EDGE_BUILD=release # never a development build, whatever the shell has exported
HEALTH_ATTEMPTS=6

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --skip-build) SKIP_BUILD=1 ;;
      --config | --var)
        [ $# -ge 2 ] || die "$1 needs a value (scripts/deploy.sh --help)"
        if [ "$1" = --config ]; then CONFIG="$2"; else VARS+=("$2"); fi
        shift
        ;;
      -h | --help) usage && exit 0 ;;
      *) die "unknown argument $1 (scripts/deploy.sh --help)" ;;
    esac
    shift
  done
  if [ "$SKIP_BUILD" = 1 ] && [ "$DRY_RUN" = 0 ]; then
    die "--skip-build is for --dry-run only: a deployment always builds"
  fi
}

# The config's absolute path; it must sit beside wrangler.toml, as its paths are relative to it.
resolve_config() {
  [ -f "$CONFIG" ] || die "no Wrangler config at $CONFIG"
  CONFIG="$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")"
  [ "$(dirname "$CONFIG")" = "$ROOT" ] \
    || die "keep $(basename "$CONFIG") beside wrangler.toml: its paths (build/, schema/, migrations/) are relative to it"
}

# Every secret .dev.vars.example names (the README's Configuration section lists the same).
required_secrets() {
  sed -n 's/^\([A-Z][A-Z0-9_]*\)=.*/\1/p' "$ROOT/.dev.vars.example"
}

check_config() {
  step "Checking the configuration ($(basename "$CONFIG"), vars: [vars]${VARS[*]:+ and --var})"
  local report line
  report="$(node "$ROOT/scripts/deploy-check.mjs" config "$CONFIG" "${VARS[@]}")" \
    || die "refusing to deploy: change what is said above, then run scripts/deploy.sh again"
  while IFS= read -r line; do
    note "${line%%=*}: ${line#*=}"
    case "$line" in PUBLIC_BASE_URL=*) PUBLIC_BASE_URL="${line#*=}" ;; esac
  done <<<"$report"
}

check_secrets() {
  step "Checking the Worker's secrets (wrangler secret list)"
  local listed missing
  listed="$("$WRANGLER" secret list --config "$CONFIG" --format json)" \
    || die "wrangler secret list failed (above): log in (npx wrangler login, or set CLOUDFLARE_API_TOKEN); before a first deploy, 'npx wrangler secret put NAME' creates the Worker with its secret"
  missing="$(node "$ROOT/scripts/deploy-check.mjs" missing-secrets $(required_secrets) <<<"$listed")"
  [ -z "$missing" ] \
    || die "the Worker lacks the secret(s) $missing: set each with 'npx wrangler secret put NAME --config $(basename "$CONFIG")' (README, Configuration), then run scripts/deploy.sh again"
  note "set: $(required_secrets | tr '\n' ' ')"
}

build() {
  if [ "$SKIP_BUILD" = 1 ]; then
    step "Using the existing build/ (--skip-build)"
    [ -f "$ROOT/build/index.js" ] || die "build/ holds no Worker: run scripts/build.sh, or drop --skip-build"
    CHANNEL_EDGE_PREBUILT=1 bash "$ROOT/scripts/build.sh"
  else
    step "Building the release Worker (scripts/build.sh)"
    bash "$ROOT/scripts/build.sh"
  fi
}

# `wrangler deploy` with the config and the --var overrides; its [build] command reuses build/.
wrangler_deploy() {
  local var args=(deploy --config "$CONFIG")
  for var in "${VARS[@]}"; do args+=(--var "$var"); done
  CHANNEL_EDGE_PREBUILT=1 "$WRANGLER" "${args[@]}" "$@"
}

dry_run() {
  step "wrangler deploy --dry-run (bundles and checks offline; uploads nothing)"
  OUTDIR="$(mktemp -d)"
  trap 'rm -rf "$OUTDIR"' EXIT
  wrangler_deploy --dry-run --outdir "$OUTDIR"
  [ -f "$OUTDIR/index.js" ] || die "wrangler deploy --dry-run wrote no bundle"
  step "Dry run passed: nothing was uploaded"
  note "A real deploy (without --dry-run) also checks the secrets, applies the D1 migrations"
  note "remotely, checks the root principal, deploys and checks $PUBLIC_BASE_URL/healthz."
}

migrate() {
  step "Applying the D1 migrations to the remote database"
  "$WRANGLER" d1 migrations apply DB --remote --config "$CONFIG"
}

check_root_principal() {
  step "Checking the root principal"
  local dev_key rows count
  dev_key="$(sed -n "s/.*'prn_root', 'root', '\([^']*\)'.*/\1/p" "$DEV_ROOT_KEY_SQL")"
  rows="$("$WRANGLER" d1 execute DB --remote --json --config "$CONFIG" --command \
    "SELECT id, public_key FROM principals WHERE status = 'active' AND scopes = '*'")" \
    || die "could not read the principals (above)"
  count="$(node "$ROOT/scripts/deploy-check.mjs" root-principals "$dev_key" <<<"$rows")" \
    || die "refusing to deploy: revoke the development root principal first (above)"
  if [ "$count" = 0 ]; then
    note "no root principal yet: insert yours after this deploy (README, Production root key)"
  else
    note "$count active root principal(s), none with the DEV-ONLY key"
  fi
}

check_health() {
  step "Checking $PUBLIC_BASE_URL/healthz"
  local attempt answer=""
  for attempt in $(seq "$HEALTH_ATTEMPTS"); do
    answer="$(curl -sS --max-time 10 "$PUBLIC_BASE_URL/healthz" 2>&1 || true)"
    case "$answer" in *'"status":"ok"'*) note "$answer" && return ;; esac
    note "attempt $attempt: ${answer:-no answer}"
    sleep 5
  done
  die "deployed, but $PUBLIC_BASE_URL/healthz does not answer ok: check that PUBLIC_BASE_URL is where the Worker is served (workers.dev or its route) and read 'npx wrangler tail'"
}

main() {
  parse_args "$@"
  ensure_toolchain
  cd "$ROOT"
  resolve_config
  check_config
  if [ "$DRY_RUN" = 1 ]; then
    build
    dry_run
    return
  fi
  check_secrets
  build
  migrate
  check_root_principal
  step "Deploying (wrangler deploy)"
  wrangler_deploy
  check_health
  step "Deployed: $PUBLIC_BASE_URL"
}

main "$@"
