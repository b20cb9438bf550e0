#!/usr/bin/env bash
# Load test of the webhook pipeline against a real `wrangler dev` with throwaway state:
#
#   scripts/load.sh [--events N] [--concurrency C] [--duplicates PCT]   # defaults 2000, 16, 10
#
# Installs what is missing, builds the Worker, then runs the `load` binary of the e2e crate
# (tests/e2e/src/bin/load.rs says what it sends and checks). Prints a markdown table; exits
# non-zero when an event is not delivered exactly once.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_toolchain
cd "$ROOT"

step "Wasm build"
bash scripts/build.sh

step "load test against wrangler dev"
cargo run --release --locked -p channel-edge-e2e --bin load -- "$@"
