#!/usr/bin/env bash
# Builds the Worker into build/ (wrangler.toml's [build] command runs this) and reports the Wasm
# size, raw and gzipped, failing when the gzipped size exceeds the budget.
#
# CHANNEL_EDGE_PREBUILT=1 skips the build when build/ already holds one (its size is still checked):
# the end-to-end harness sets it because scripts/test.sh has just built, and scripts/deploy.sh
# because it has built before it runs wrangler.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
toolchain_env

WASM="$ROOT/build/index_bg.wasm"
BUDGET_KIB="${CHANNEL_EDGE_WASM_BUDGET_KIB:-512}"

if [ "${CHANNEL_EDGE_PREBUILT:-0}" = 1 ] && [ -f "$ROOT/build/index.js" ] && [ -f "$WASM" ]; then
  echo "channel-edge: using the existing build/ (CHANNEL_EDGE_PREBUILT=1)"
else
  cd "$ROOT"
  worker-build --release
fi

raw=$(wc -c <"$WASM")
gz=$(gzip -9 -c "$WASM" | wc -c)
printf 'channel-edge: wasm %d bytes raw (%d KiB), %d bytes gzipped (%d KiB; budget %d KiB)\n' \
  "$raw" $((raw / 1024)) "$gz" $((gz / 1024)) "$BUDGET_KIB"
if [ "$gz" -gt $((BUDGET_KIB * 1024)) ]; then
  die "gzipped wasm is over the $BUDGET_KIB KiB budget"
fi
