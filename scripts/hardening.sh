#!/usr/bin/env bash
# Fault, cross-tenant and load tests against the real worker under
# `wrangler dev` (worker/tests/hardening/hardening.mjs; figures in
# docs/hardening.md). Two runs, each on a fresh local store:
#   1. no faults: the cross-tenant probe (PROBE requests), the churn of
#      publishes, rollbacks and reads, and the sustained load (SECONDS);
#   2. with VANE_FAULTS (the worker's test-only fault plan, see
#      docs/hardening.md): the churn again while KV and Durable Object
#      operations fail.
# The test command runs it briefly; by hand: scripts/hardening.sh 120 50000.
#
# Usage: scripts/hardening.sh [SECONDS (default 5)] [PROBE (default 10000)]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wrangler-dev.sh

seconds=${1:-5}
probe=${2:-10000}
faults=${VANE_FAULTS_PLAN:-kv_read:7,kv_write:5,do_storage:6}
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
    local name=$1 plan=$2
    local token port
    token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
    port=$(free_port)
    mkdir -p "$work/$name"
    step "$name: wrangler dev on 127.0.0.1:$port${plan:+, faults $plan}"
    start_wrangler "$port" "$work/$name/state" "$work/$name/wrangler.log" \
        --var "ADMIN_TOKEN:$token" --var SNAPSHOT_TTL_SECONDS:0 \
        ${plan:+--var "VANE_FAULTS:$plan"}
    local status=0
    VANE_URL="http://127.0.0.1:$port" VANE_ADMIN_TOKEN="$token" \
    VANE_BIN="$PWD/target/debug/vane" VANE_HARDENING_DIR="$work/$name" \
    VANE_HARDENING_SECONDS="$seconds" VANE_HARDENING_PROBE="$probe" \
    VANE_FAULTS="$plan" VANE_HARDENING_REPORT="${VANE_HARDENING_OUT:-$work}/hardening-$name.json" \
        node worker/tests/hardening/hardening.mjs || status=$?
    if [ "$status" -ne 0 ]; then
        echo "hardening: $name failed; the last lines of the wrangler dev log:" >&2
        tail -n 40 "$work/$name/wrangler.log" >&2
        exit "$status"
    fi
    stop_wrangler
}

run plain ""
[ "$faults" = none ] || run faults "$faults"
