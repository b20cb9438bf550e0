#!/usr/bin/env bash
# Load test of the webhook pipeline against a real `wrangler dev` with throwaway state:
#
#   scripts/load.sh [--events N] [--concurrency C] [--duplicates PCT]   # defaults 2000, 16, 10
#   scripts/load.sh --outbound [--messages N] [--conversations M] [--concurrency C] [--faults PCT]
#                                                                        # defaults 300, 50, 8, 0
#
# Installs what is missing, builds the Worker, then runs the `load` binary of the e2e crate
# (tests/e2e/src/bin/load.rs says what it sends and checks), or with `--outbound` the
# `load-outbound` one (tests/e2e/src/bin/load-outbound.rs: replies through every provider's
# stand-in). Prints a markdown table; exits non-zero when an event or message is not delivered
# exactly once (and, outbound, in order per conversation).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_toolchain
cd "$ROOT"

step "Wasm build"
bash scripts/build.sh

step "load test against wrangler dev"
if [[ "${1:-}" == "--outbound" ]]; then
    shift
    cargo run --release --locked -p channel-edge-e2e --bin load-outbound -- "$@"
else
    cargo run --release --locked -p channel-edge-e2e --bin load -- "$@"
fi
