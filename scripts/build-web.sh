#!/usr/bin/env bash
# Builds the browser package: the builder and the resolver as one
# wasm-bindgen module (snapshot-builder, feature `wasm`), generated with
# `wasm-bindgen --target web` into web/playground/pkg/ (git-ignored), where
# the playground and the worker's static assets find it, plus
# pkg/examples.json, the example tenants the playground preloads. Prints the
# size of the wasm raw and gzipped. Needs scripts/install-toolchain.sh (the wasm32
# target and a wasm-bindgen CLI equal to the crate in Cargo.lock).
#
# opt-level "z" (this build only), as for the worker: smaller download; the
# playground evaluates a flag in microseconds either way.
set -euo pipefail
cd "$(dirname "$0")/.."

out=web/playground/pkg
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
# Not stripped by rustc, so wasm-bindgen can read the module's target
# features; it drops the name and producers sections itself.
export CARGO_PROFILE_RELEASE_STRIP=false

# A cdylib for this build only: the crate stays an rlib for everyone else.
cargo rustc -q -p vane-snapshot-builder --lib --release \
    --target wasm32-unknown-unknown --no-default-features --features wasm \
    --crate-type cdylib
"${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}" --target web --out-name vane --out-dir "$out" \
    --remove-name-section --remove-producers-section \
    target/wasm32-unknown-unknown/release/vane_snapshot_builder.wasm

# The example tenants the playground preloads (scripts/examples.json): rules
# text, access file, client key.
node - "$out/examples.json" <<'EOF_NODE'
const fs = require("fs");
const path = require("path");
const examples = require("./scripts/examples.json").map((e) => {
    const access = e.build_args.indexOf("--access");
    const accessFile = access >= 0 ? e.build_args[access + 1] : null;
    return {
        tenant: e.tenant,
        fileName: path.basename(e.rules),
        format: e.rules.endsWith(".json") ? "flagd" : "vane",
        text: fs.readFileSync(e.rules, "utf8"),
        accessFileName: accessFile && path.basename(accessFile),
        access: accessFile && fs.readFileSync(accessFile, "utf8"),
        clientKey: e.client_key,
    };
});
fs.writeFileSync(process.argv[2], JSON.stringify(examples, null, 1));
EOF_NODE
# vane.js is an ES module; this tells Node so (web/tests/typescript-types.test.mjs).
printf '{"type": "module"}\n' > "$out/package.json"

wasm=$out/vane_bg.wasm
printf 'build-web: %s: %s bytes raw, %s bytes gzipped (gzip -9); JS glue %s bytes\n' \
    "$wasm" "$(wc -c < "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)" "$(wc -c < "$out/vane.js")" >&2
