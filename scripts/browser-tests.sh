#!/usr/bin/env bash
# Every browser test, in headless Chromium (part of the README's test command):
#
# 1. wasm-bindgen-test (snapshot-builder/tests/browser.rs): the JS bindings
#    and the flagd conformance vectors, inside the browser;
# 2. Playwright (web/tests/*.test.mjs, playwright-core + /usr/bin/chromium)
#    against the real worker under `wrangler dev`, with the example tenants
#    published by `vane publish`: the playground at /playground, a real
#    OpenFeature web client (web/ofrep-client) from its own origin, the
#    exposures page at /exposures/ over exposures made by OFREP requests,
#    and the real Confidence web client (web/confidence-client) against the
#    tenant of Confidence's demo state;
# 3. before those, in Node: the wasm package's TypeScript types checked by
#    tsc against what the bindings really return
#    (web/tests/typescript-types.test.mjs).
#
# Builds what it needs (vane CLI, worker, wasm package, client bundle),
# starts wrangler dev on a free loopback port with a fresh local KV and stops
# it on exit, whether the tests pass, fail or are interrupted. Screenshots
# land in target/browser-tests/ (git-ignored; not under web/, which wrangler
# dev watches as the static assets directory).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wrangler-dev.sh

step() { printf '\n==> browser: %s\n' "$*" >&2; }

work=$(mktemp -d)
cleanup() {
    stop_wrangler
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "toolchain"
scripts/install-toolchain.sh --test

# Chromium's switches, one list for both runners (web/tests/chromium-flags.json).
node -e '
    const { args } = require("./web/tests/chromium-flags.json");
    const caps = { "goog:chromeOptions": { binary: "/usr/bin/chromium", args } };
    require("fs").writeFileSync(process.argv[1], JSON.stringify(caps));' "$work/webdriver.json"

step "wasm-bindgen-test in headless Chromium (bindings, flagd vectors)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=/usr/bin/chromedriver \
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$work/webdriver.json" \
    cargo test -p vane-snapshot-builder --target wasm32-unknown-unknown \
        --no-default-features --features wasm --test browser

step "builds: vane CLI, worker, wasm package, OpenFeature client bundle"
cargo build -q -p vane-snapshot-builder --bin vane
vane=$PWD/target/debug/vane
scripts/build-worker.sh
scripts/build-web.sh
./node_modules/.bin/esbuild web/ofrep-client/client.js --bundle --format=esm \
    --target=es2022 --log-level=warning --outfile=web/ofrep-client/dist/client.js
# The Confidence web client resolves its packages from its own folder.
./node_modules/.bin/esbuild web/confidence-client/client.js --bundle --format=esm \
    --target=es2022 --log-level=warning --outfile=web/confidence-client/dist/client.js

step "TypeScript: the package's types against what the bindings return (tsc)"
node --test --test-reporter=spec web/tests/typescript-types.test.mjs

token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
resolve_key=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
port=$(free_port)
url="http://127.0.0.1:$port"
step "wrangler dev on $url, example tenants published"
start_wrangler "$port" "$work/state" "$work/wrangler.log" \
    --var "ADMIN_TOKEN:$token" --var "RESOLVE_TOKEN_KEY:$resolve_key" --var SNAPSHOT_TTL_SECONDS:0
mkdir -p "$work/snapshots"
examples=$(node -e '
    for (const e of require("./scripts/examples.json"))
        console.log([e.tenant, e.rules, e.build_args.join(" ")].join("|"));')
while IFS="|" read -r tenant rules args; do
    # shellcheck disable=SC2086 # build arguments are words
    "$vane" build "$rules" -o "$work/snapshots/$tenant.cbor" $args >/dev/null
    VANE_ADMIN_TOKEN=$token "$vane" publish "$work/snapshots/$tenant.cbor" --url "$url" >/dev/null
done <<<"$examples"
# The tenant of Confidence's real demo state, for the Confidence web client.
"$vane" build conformance/confidence/real-state/resolver_state.pb --format confidence \
    --account confidence-demo-june -o "$work/snapshots/confidence-demo-june.cbor" >/dev/null
VANE_ADMIN_TOKEN=$token "$vane" publish "$work/snapshots/confidence-demo-june.cbor" --url "$url" >/dev/null

step "Playwright: playground, OpenFeature web client, Confidence web client"
artifacts=target/browser-tests
mkdir -p "$artifacts"
status=0
VANE_URL="$url" \
VANE_ADMIN_TOKEN="$token" \
VANE_BIN="$vane" \
VANE_SNAPSHOTS="$work/snapshots" \
VANE_STATE="$work/state" \
VANE_ARTIFACTS="$PWD/$artifacts" \
    node --test --test-concurrency=1 --test-reporter=spec \
        web/tests/playground.test.mjs web/tests/ofrep-client.test.mjs \
        web/tests/exposures.test.mjs web/tests/confidence-client.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
    echo "browser: failed; the last lines of the wrangler dev log:" >&2
    tail -n 40 "$work/wrangler.log" >&2
else
    echo "browser: screenshot of the playground: $artifacts/playground.png" >&2
fi
exit "$status"
