#!/usr/bin/env bash
# End-to-end test of the worker (part of the README's test command).
#
# Installs the toolchain pieces if missing, builds the `vane` CLI and the
# worker, starts `wrangler dev` on a free loopback port with a fresh local KV
# and SNAPSHOT_TTL_SECONDS=0, and runs worker/tests/e2e with Node's test
# runner against it: the example tenants are published with `vane publish`
# and every answer is compared with `vane eval` and validated against the
# OFREP OpenAPI schemas. The tests also damage entries of their own tenants
# in that local KV (`wrangler kv key --local --persist-to`, the store the
# dev server reads) and read the worker's log from wrangler dev's output.
# The signing test (signing.e2e.test.mjs) gets three `vane keygen` keys, two
# of them trusted for its tenant through TRUSTED_PUBLISHER_KEYS.
# The exposure tests (exposures.e2e.test.mjs) read the local R2 bucket's
# files under the same --persist-to directory, with DuckDB among others, and
# use the admin API's test fault switch that VANE_TEST_FAULTS=1 enables
# (docs/exposures.md, "Fault switch").
# Then a second dev server with the default SNAPSHOT_TTL_SECONDS runs
# fast-path.e2e.test.mjs: the synchronous entry (worker/entry.mjs) answers
# only tenants whose cache entry is fresh, which a TTL of 0 never is.
# Every process it starts is stopped when it exits, whether the tests pass,
# fail or are interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wrangler-dev.sh

step() { printf '\n==> e2e: %s\n' "$*" >&2; }

spec=conformance/ofrep/openapi.yaml
[ -f "$spec" ] || { echo "e2e: $spec not found (the OFREP contract, conformance/README.md)" >&2; exit 1; }

step "toolchain"
scripts/install-toolchain.sh --test
step "vane CLI"
cargo build -q -p vane-snapshot-builder --bin vane
step "worker"
scripts/build-worker.sh

work=$(mktemp -d)
cleanup() {
    stop_wrangler
    # VANE_E2E_LOG=FILE keeps the wrangler dev log (the worker's log lines).
    if [ -n "${VANE_E2E_LOG:-}" ]; then cp "$work/wrangler.log" "$VANE_E2E_LOG" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
# Publisher keys of the signing test: tenant `signed` trusts old and new.
mkdir -p "$work/keys"
for k in old new stranger; do
    target/debug/vane keygen "$work/keys/$k.pem" >"$work/keys/$k.pub" 2>/dev/null
done
trusted="{\"signed\": [\"$(cat "$work/keys/old.pub")\", \"$(cat "$work/keys/new.pub")\"]}"
resolve_key=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
port=$(free_port)
step "wrangler dev on 127.0.0.1:$port"
started=$SECONDS
start_wrangler "$port" "$work/state" "$work/wrangler.log" \
    --var "ADMIN_TOKEN:$token" --var "RESOLVE_TOKEN_KEY:$resolve_key" --var SNAPSHOT_TTL_SECONDS:0 \
    --var "TRUSTED_PUBLISHER_KEYS:$trusted" --var METRICS_FLUSH_SECONDS:0 \
    --var VANE_TEST_FAULTS:1
echo "e2e: wrangler dev ready in $((SECONDS - started)) s" >&2

step "tests"
mkdir -p "$work/scratch"
# run_tests LOG STATE FILE...: the e2e files against the dev server on
# $port, which writes LOG and keeps its local storage in STATE.
run_tests() {
    local log=$1 state=$2
    shift 2
    VANE_URL="http://127.0.0.1:$port" \
    VANE_ADMIN_TOKEN="$token" \
    VANE_RESOLVE_TOKEN_KEY="$resolve_key" \
    VANE_BIN="$PWD/target/debug/vane" \
    VANE_E2E_DIR="$work/scratch" \
    VANE_KV_STATE="$state" \
    VANE_WRANGLER_LOG="$log" \
    OFREP_SPEC="$PWD/$spec" \
    VANE_SIGNING_KEYS="$work/keys" \
        node --test --test-concurrency=1 --test-reporter=spec "$@"
}
status=0
run_tests "$work/wrangler.log" "$work/state" worker/tests/e2e/worker.e2e.test.mjs \
    worker/tests/e2e/signing.e2e.test.mjs worker/tests/e2e/exposures.e2e.test.mjs \
    worker/tests/e2e/confidence.e2e.test.mjs worker/tests/e2e/confidence-layers.e2e.test.mjs \
    worker/tests/e2e/breaker.e2e.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
    echo "e2e: failed; the last lines of the wrangler dev log:" >&2
    tail -n 60 "$work/wrangler.log" >&2
    exit "$status"
fi
stop_wrangler

# The fast path (worker/entry.mjs) answers only a tenant whose cache entry
# is fresh: a second dev server with the default SNAPSHOT_TTL_SECONDS.
port=$(free_port)
step "wrangler dev on 127.0.0.1:$port, default snapshot TTL: the fast path"
start_wrangler "$port" "$work/state-fast" "$work/wrangler-fast.log" \
    --var "ADMIN_TOKEN:$token" --var METRICS_FLUSH_SECONDS:0 --var VANE_TEST_FAULTS:1
run_tests "$work/wrangler-fast.log" "$work/state-fast" worker/tests/e2e/fast-path.e2e.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
    echo "e2e: failed; the last lines of the wrangler dev log:" >&2
    tail -n 60 "$work/wrangler-fast.log" >&2
fi
exit "$status"
