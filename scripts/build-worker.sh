#!/usr/bin/env bash
# Builds the worker into build/ with worker-build (index.js + index_bg.wasm),
# using only local binaries: wasm-bindgen from cargo, esbuild from
# node_modules, no wasm-opt; then copies worker/entry.mjs beside them as
# build/entry.mjs, the module wrangler.toml's `main` names (it imports
# index.js). Run scripts/install-toolchain.sh first.
#
# opt-level "z" (for this build only) keeps the wasm small: about 15 % less
# gzipped than the workspace's opt-level 3; evaluation stays in microseconds.
set -euo pipefail
cd "$(dirname "$0")/.."

export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z

# --out-dir is relative to the crate: ../build is the repository's build/.
worker-build --release --no-opt --out-dir ../build worker >&2
cp worker/entry.mjs build/entry.mjs
wasm=build/index_bg.wasm
printf 'build-worker: %s: %s bytes raw, %s bytes gzipped\n' \
    "$wasm" "$(wc -c < "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)" >&2
