#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy (native and wasm32, warnings are errors), the native
# tests, the Wasm build with its size, scripts/deploy.sh's dry run and refusals (offline), and the
# end-to-end suite against a real `wrangler dev`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_toolchain
ensure_chromium
cd "$ROOT"

step "cargo fmt --check"
cargo fmt --all --check

step "clippy (native, all targets)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (wasm32)"
cargo clippy -p channel-edge --lib --target wasm32-unknown-unknown --locked -- -D warnings

step "native tests"
cargo test -p channel-edge --locked

step "Wasm build"
bash scripts/build.sh

step "deploy script: dry run and refusals (offline, on this build)"
cargo test -p channel-edge-e2e --locked --test deploy

step "end-to-end tests against wrangler dev"
cargo test -p channel-edge-e2e --locked --lib --bins --test e2e
