#!/usr/bin/env bash
# Builds the Worker into build/ (wrangler.toml's [build] command runs this) and reports the Wasm
# size, raw and gzipped, failing when the gzipped size exceeds the budget.
#
# CHANNEL_EDGE_BUILD=dev (scripts/run.sh sets it) makes a development build instead: no
# optimisation and no wasm-opt, so `wrangler dev` serves a source change within seconds. It is
# much larger, so the size budget is not checked; tests and deploys use the release build.
#
# CHANNEL_EDGE_PREBUILT=1 skips the build when build/ already holds one of the same kind (a
# release build's size is still checked): the end-to-end harness sets it because scripts/test.sh
# has just built, and scripts/deploy.sh because it has built before it runs wrangler. A
# development build left by scripts/run.sh is never taken for a release build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
toolchain_env

WASM="$ROOT/build/index_bg.wasm"
KIND_FILE="$ROOT/build/.kind"
KIND="${CHANNEL_EDGE_BUILD:-release}"
BUDGET_KIB="${CHANNEL_EDGE_WASM_BUDGET_KIB:-576}"

build() {
  cd "$ROOT"
  rm -f "$KIND_FILE"
  # worker-build passes cargo's output through with blank lines between: drop those.
  if [ "$KIND" = dev ]; then
    worker-build --profile wasm-dev --no-opt 2>&1 | grep -v '^\s*$'
  else
    worker-build --release 2>&1 | grep -v '^\s*$'
    # The name section (function names, ~300 KB) is dropped here rather than by `strip = true`,
    # which would also drop the section wasm-bindgen reads the Wasm features from.
    wasm-opt "$WASM" --strip-debug --strip-producers --strip-target-features -o "$WASM"
  fi
  echo "$KIND" >"$KIND_FILE"
}

# The static assets (`[assets]` in wrangler.toml): served to the worker only, never compiled in.
stage_assets() {
  mkdir -p "$ROOT/build/assets"
  cp "$ROOT/schema/openapi.json" "$ROOT"/assets/* "$ROOT/build/assets/"
}

if [ "${CHANNEL_EDGE_PREBUILT:-0}" = 1 ] && [ -f "$ROOT/build/index.js" ] && [ -f "$WASM" ] \
  && [ "$(cat "$KIND_FILE" 2>/dev/null)" = "$KIND" ]; then
  echo "channel-edge: using the existing $KIND build in build/ (CHANNEL_EDGE_PREBUILT=1)"
else
  build
fi
stage_assets

if [ "$KIND" = dev ]; then
  echo "channel-edge: development build ($(($(wc -c <"$WASM") / 1024)) KiB; no size budget)"
  exit 0
fi
raw=$(wc -c <"$WASM")
gz=$(gzip -9 -c "$WASM" | wc -c)
printf 'channel-edge: wasm %d bytes raw (%d KiB), %d bytes gzipped (%d KiB; budget %d KiB)\n' \
  "$raw" $((raw / 1024)) "$gz" $((gz / 1024)) "$BUDGET_KIB"
if [ "$gz" -gt $((BUDGET_KIB * 1024)) ]; then
  die "gzipped wasm is over the $BUDGET_KIB KiB budget"
fi
