#!/usr/bin/env bash
# Checks that the worker as built would deploy (docs/deploy.md):
# `wrangler deploy --dry-run` bundles build/ with wrangler.toml's bindings,
# migrations and assets and validates them without an account or network.
# Part of the README's test command; expects scripts/build-worker.sh to have
# run (scripts/e2e.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false
[ -f build/entry.mjs ] || scripts/build-worker.sh
out=target/deploy-dry-run
rm -rf "$out"
./node_modules/.bin/wrangler deploy --dry-run --outdir "$out" >"$out.log" 2>&1 || {
    cat "$out.log" >&2
    echo "deploy-check: wrangler deploy --dry-run failed" >&2
    exit 1
}
# The dry run must have bundled the worker and listed its bindings.
grep -q 'SNAPSHOTS' "$out.log" || { cat "$out.log" >&2; echo "deploy-check: no KV binding in the dry run" >&2; exit 1; }
# The test-only fault switch (worker/src/faults.rs) must never reach a deploy.
if grep -q 'VANE_TEST_FAULTS' wrangler.toml "$out.log"; then
    echo "deploy-check: VANE_TEST_FAULTS is set for a deploy (test only, docs/deploy.md)" >&2
    exit 1
fi
# The entry module (build/entry.mjs) bundled with worker-build's index.js.
[ -s "$out/entry.js" ] || { ls -la "$out" >&2; echo "deploy-check: nothing bundled" >&2; exit 1; }
echo "deploy-check: wrangler deploy --dry-run ok ($(du -sh "$out" | cut -f1) bundled)" >&2
