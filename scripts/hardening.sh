#!/usr/bin/env bash
# Fault, cross-tenant and load tests against the real worker under
# `wrangler dev` (worker/tests/hardening/hardening.mjs; figures in
# docs/hardening.md), on a fresh local store: the cross-tenant probe (PROBE
# requests), the churn of concurrent publishes, rollbacks and reads of four
# tenants (SECONDS), and the sustained load (SECONDS); then, on a second
# fresh store, the churn again with KV and Durable Object failures injected
# (VANE_TEST_FAULTS, worker/src/faults.rs; VANE_HARDENING_FAULTS overrides
# the periods).
# The test command runs it briefly; by hand: scripts/hardening.sh 60 10000.
#
# Usage: scripts/hardening.sh [SECONDS (default 5)] [PROBE (default 10000)]
# Environment: VANE_HARDENING_PHASES (default probe,churn,load),
# SNAPSHOT_TTL_SECONDS (default 0: every request rereads the pointer).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wrangler-dev.sh

seconds=${1:-5}
probe=${2:-10000}
step() { printf '\n==> hardening: %s\n' "$*" >&2; }

step "vane CLI and worker"
cargo build -q -p vane-snapshot-builder --bin vane
scripts/build-worker.sh

work=$(mktemp -d)
cleanup() {
    stop_wrangler
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run() {
    local name=$1 faults=$2 phases=$3
    local token port
    token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
    port=$(free_port)
    mkdir -p "$work/$name"
    step "$name: wrangler dev on 127.0.0.1:$port"
    start_wrangler "$port" "$work/$name/state" "$work/$name/wrangler.log" \
        --var "ADMIN_TOKEN:$token" --var "SNAPSHOT_TTL_SECONDS:${SNAPSHOT_TTL_SECONDS:-0}" \
        ${faults:+--var "VANE_TEST_FAULTS:$faults"}
    local status=0
    VANE_URL="http://127.0.0.1:$port" VANE_ADMIN_TOKEN="$token" \
    VANE_BIN="$PWD/target/debug/vane" VANE_HARDENING_DIR="$work/$name" \
    VANE_HARDENING_SECONDS="$seconds" VANE_HARDENING_PROBE="$probe" \
    VANE_HARDENING_FAULTS="$faults" VANE_HARDENING_PHASES="$phases" \
    VANE_HARDENING_REPORT="${VANE_HARDENING_OUT:-$work}/hardening-$name.json" \
        node worker/tests/hardening/hardening.mjs || status=$?
    if [ "$status" -ne 0 ]; then
        echo "hardening: $name failed; the last lines of the wrangler dev log:" >&2
        tail -n 40 "$work/$name/wrangler.log" >&2
        exit "$status"
    fi
    stop_wrangler
}

run plain "" "${VANE_HARDENING_PHASES:-probe,churn,load}"
run faults "${VANE_HARDENING_FAULTS:-kv_read=7,kv_write=5,do_storage=6}" churn
