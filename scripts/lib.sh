# Shared by scripts/run.sh, scripts/test.sh and scripts/build.sh. Source it; don't run it.
#
# `ensure_toolchain` installs what the project needs and is missing, and skips what is present at
# the right version, so a second run installs nothing. `toolchain_env` only sets PATH and the
# variables worker-build reads; it never installs.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/channel-edge"

# Versions. wasm-bindgen-cli's version is read from Cargo.lock (it must equal the crate's).
WORKER_BUILD_VERSION="0.8.7"
NODE_VERSION="22.23.3"  # wrangler 4 needs Node >= 22.12
NODE_MIN="22.12.0"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Prints 0 when version $1 >= $2 (dotted numbers), else 1.
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

node_dir() { echo "$CACHE_DIR/node-$NODE_VERSION"; }

toolchain_env() {
  export PATH="$HOME/.cargo/bin:$PATH"
  local system_node
  system_node="$(node --version 2>/dev/null | tr -d v || true)"
  if [ -z "$system_node" ] || ! version_at_least "$system_node" "$NODE_MIN"; then
    export PATH="$(node_dir)/node_modules/.bin:$PATH"
  fi
  export PATH="$ROOT/node_modules/.bin:$PATH"
  export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
  export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
  export WRANGLER_SEND_METRICS=false
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local component
  for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
      step "Adding rustup component $component"
      rustup component add "$component"
    fi
  done
}

# cargo_tool BINARY CRATE VERSION: installs CRATE@VERSION unless BINARY --version already says VERSION.
cargo_tool() {
  local binary="$1" crate="$2" version="$3"
  if "$HOME/.cargo/bin/$binary" --version 2>/dev/null | grep -qw "$version"; then
    return
  fi
  step "Installing $crate $version (compiles from source; a few minutes, once per machine)"
  # --locked first for a reproducible build; without it when a locked dependency has since been
  # yanked from the registry.
  cargo install "$crate" --version "$version" --locked \
    || cargo install "$crate" --version "$version"
}

ensure_node() {
  local system_node
  system_node="$(node --version 2>/dev/null | tr -d v || true)"
  if [ -n "$system_node" ] && version_at_least "$system_node" "$NODE_MIN"; then
    return
  fi
  command -v npm >/dev/null || die "npm not found: wrangler needs Node >= $NODE_MIN and npm to fetch it"
  if [ "$("$(node_dir)/node_modules/.bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
    step "Installing Node $NODE_VERSION for wrangler (system node is ${system_node:-missing})"
    mkdir -p "$(node_dir)"
    npm install --prefix "$(node_dir)" --no-audit --no-fund --loglevel=error "node@$NODE_VERSION"
  fi
}

# Reinstalls node_modules when package.json or package-lock.json changed since the last install.
ensure_node_modules() {
  local stamp="$ROOT/node_modules/.installed-lock"
  if [ -f "$stamp" ] && cat "$ROOT/package.json" "$ROOT/package-lock.json" | cmp -s "$stamp" -; then
    return
  fi
  step "Installing wrangler, binaryen and playwright-core from package-lock.json"
  # `npm install`, not `npm ci`: the registry here lacks workerd's macOS and Windows packages, so
  # the lock file cannot list them and `npm ci` would call it out of sync. `npm install` still
  # installs exactly the locked versions, but on another platform it writes that platform's
  # packages into the lock: the committed lock is put back afterwards, so a clone stays clean.
  local saved
  saved="$(mktemp)"
  cp "$ROOT/package-lock.json" "$saved"
  local installed=0
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error) && installed=1
  cat "$saved" >"$ROOT/package-lock.json"
  rm -f "$saved"
  [ "$installed" = 1 ] || die "npm install failed (its output is above); run the command again"
  cat "$ROOT/package.json" "$ROOT/package-lock.json" >"$stamp"
}

ensure_toolchain() {
  ensure_rust
  cargo_tool worker-build worker-build "$WORKER_BUILD_VERSION"
  cargo_tool wasm-bindgen wasm-bindgen-cli "$(wasm_bindgen_version)"
  ensure_node
  toolchain_env
  ensure_node_modules
}

# Debian's Chromium for the browser test of the binding page (Playwright's own browser download
# does not work here). Installed with apt-get as root (as CI runs) or with passwordless sudo.
CHROMIUM=/usr/bin/chromium
ensure_chromium() {
  [ -x "$CHROMIUM" ] && return
  note "installing Debian's chromium (for the binding page's browser test)"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo -n true 2>/dev/null || die "chromium is missing and installing it needs root: run 'apt-get install -y chromium' as root"
    sudo="sudo -n"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] || die "apt-get installed chromium but $CHROMIUM is missing"
}

# Dev secrets for `wrangler dev`: .dev.vars is git-ignored; it starts as a copy of the committed,
# dev-only .dev.vars.example, and gains any variable the example has gained since (your own
# values for variables already there are kept).
ensure_dev_vars() {
  local dev_vars="$ROOT/.dev.vars" line name
  if [ ! -f "$dev_vars" ]; then
    note "creating .dev.vars from .dev.vars.example (dev-only values)"
    cp "$ROOT/.dev.vars.example" "$dev_vars"
    return
  fi
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    name="${line%%=*}"
    if ! grep -q "^$name=" "$dev_vars"; then
      note "adding $name to .dev.vars from .dev.vars.example"
      printf '%s\n' "$line" >>"$dev_vars"
    fi
  done <"$ROOT/.dev.vars.example"
}
