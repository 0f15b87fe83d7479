#!/usr/bin/env bash
# Load through the exposure log (docs/exposures.md, docs/benchmarks.md):
# starts `wrangler dev` (fresh local state), publishes a one-flag tenant and
# sends N OFREP single evaluations of its 50/50 split (default 50,000, 32 in
# flight), each one exposure, then waits until the consumer has written them
# all and checks that none is lost or doubled: the summary's distinct
# events, the counters (accepted = written = N, nothing dropped,
# deduplicated or dead-lettered) and DuckDB over the local R2 files
# (N lines, N distinct event ids); it exits 1 otherwise. Prints and writes
# target/exposure-load.json: requests/s sent, events/s through the consumer
# (N over the time from its first to its last write, sampled every 250 ms),
# stored bytes per event, the machine's 1-minute load average before and
# after.
#
#   scripts/exposure-load.sh [N] [CONCURRENCY]
#
# The test command runs a brief version (2,000 events) in
# worker/tests/e2e/exposures.e2e.test.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wrangler-dev.sh

n=${1:-50000}
width=${2:-32}
scripts/install-toolchain.sh --test
cargo build -q -p vane-snapshot-builder --bin vane
scripts/build-worker.sh

work=$(mktemp -d)
trap 'stop_wrangler; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
port=$(free_port)
url="http://127.0.0.1:$port"
# A TTL longer than the run: concurrent requests of a tenant whose snapshot
# is being refreshed hang under workerd at present (docs/exposures.md,
# "Known problems"), so the snapshot is loaded once and never refreshed.
start_wrangler "$port" "$work/state" "$work/wrangler.log" --var "ADMIN_TOKEN:$token" \
    --var SNAPSHOT_TTL_SECONDS:3600

key=exposure-load-key-8c2d
cat > "$work/load.yaml" <<YAML
tenant: expo-bench
clients:
  backend:
    key_sha256: [$(printf %s "$key" | sha256sum | cut -d' ' -f1)]
flags:
  checkout:
    type: string
    variants: {classic: classic, one-page: one-page}
    default: classic
    rules:
      - split: {classic: 50, one-page: 50}
YAML
./target/debug/vane build "$work/load.yaml" -o "$work/load.cbor" --version 1 >/dev/null
VANE_ADMIN_TOKEN=$token ./target/debug/vane publish "$work/load.cbor" --url "$url" >/dev/null

mkdir -p target
URL=$url KEY=$key TOKEN=$token N=$n WIDTH=$width STATE=$work/state OUT=$work/r2 node --input-type=module -e '
const { URL: base, KEY, TOKEN, N, WIDTH, STATE, OUT } = process.env;
const n = Number(N);
const admin = { authorization: `Bearer ${TOKEN}` };
// Counters only: a `from` far in the future prunes every object.
const counters = async () => (await (await fetch(`${base}/admin/v1/tenants/expo-bench/exposures?from=2999-01-01`, { headers: admin })).json()).counters;
const samples = [];
let sending = true;
const sampler = (async () => {
  for (;;) {
    const c = await counters();
    samples.push([performance.now(), c.written]);
    if (!sending && c.written + c.dead_lettered + c.dropped >= n) return c;
    if (samples.length > 1 && performance.now() - samples[0][0] > 30 * 60_000) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 250));
  }
})();
const os = await import("node:os");
const loadBefore = os.loadavg();
const t0 = performance.now();
let next = 0, failed = 0;
await Promise.all(Array.from({ length: Number(WIDTH) }, async () => {
  while (next < n) {
    const i = next++;
    const r = await fetch(`${base}/ofrep/v1/evaluate/flags/checkout`, {
      method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ context: { targetingKey: `unit-${i}` } }),
    });
    if (r.status !== 200) failed += 1;
    await r.arrayBuffer();
  }
}));
const sent = performance.now();
sending = false;
const final = await sampler;
const first = samples.find(([, w]) => w > 0)[0];
const last = samples.find(([, w]) => w >= n)?.[0] ?? performance.now();
const summary = await (await fetch(`${base}/admin/v1/tenants/expo-bench/exposures`, { headers: admin })).json();
const { spawnSync } = await import("node:child_process");
const duck = JSON.parse(spawnSync("python3", ["scripts/exposures-duckdb.py", "--state", STATE, "--out", OUT], { encoding: "utf8" }).stdout);
const result = {
  events: n, concurrency: Number(WIDTH), failed_requests: failed,
  requests_per_s: Math.round(n / ((sent - t0) / 1000)),
  consumer_events_per_s: Math.round(n / Math.max((last - first) / 1000, 0.25)),
  drain_after_last_request_ms: Math.round(last - sent),
  objects: summary.objects, stored_bytes: summary.stored_bytes,
  bytes_per_event: +(summary.stored_bytes / summary.events).toFixed(1),
  summary_events: summary.events, counters: final,
  duckdb_lines: duck.lines, duckdb_distinct_events: duck.distinct_events,
  load_average_1m: { before: +loadBefore[0].toFixed(2), after: +os.loadavg()[0].toFixed(2) },
  cores: os.cpus().length,
};
const lost = n - summary.events;
result.lost = lost;
console.log(JSON.stringify(result));
(await import("node:fs")).writeFileSync("target/exposure-load.json", JSON.stringify(result, null, 2) + "\n");
// `written` may exceed n (a batch retried after its object was written
// counts its events again, docs/exposures.md "Counters"; its object is the
// same key, so the lines stay n): zero lost and none doubled is the
// distinct events and the stored lines, both exactly n.
const ok = failed === 0 && lost === 0 && final.accepted === n && final.written >= n && final.dropped === 0
  && final.dead_lettered === 0 && duck.lines === n && duck.distinct_events === n;
if (!ok) { console.error("exposure-load: events were lost, doubled or refused"); process.exit(1); }
'
