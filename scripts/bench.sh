#!/usr/bin/env bash
# The benchmark suite (docs/benchmarks.md). Not part of the test command;
# `--smoke` runs every stage briefly on small tenants so the suite cannot rot.
#
#   scripts/bench.sh [--smoke] [STAGE...]
#
# Stages (all by default, in this order):
#   sizes      snapshot bytes against flagd JSON, raw and gzipped; worker wasm and JS
#   criterion  native criterion benches: single flags, all flags, cold start,
#              build, against datalogic-rs, open-feature-flagd, unleash-yggdrasil
#   wasm       the resolver in WebAssembly (Node's V8) against the same loops native
#   http       OFREP under load against the worker in `wrangler dev` (wrk, loopback)
#
# Results: target/bench/*.jsonl (one JSON object per figure); criterion's
# own report under target/criterion. Everything runs on 127.0.0.1 only and
# every load run is bounded in time. Processes it starts are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

smoke=false
stages=()
for arg in "$@"; do
    case "$arg" in
        --smoke) smoke=true ;;
        sizes | criterion | wasm | http) stages+=("$arg") ;;
        *) echo "bench: unknown argument '$arg' (use --smoke, sizes, criterion, wasm, http)" >&2; exit 2 ;;
    esac
done
[ ${#stages[@]} -gt 0 ] || stages=(sizes criterion wasm http)
wants() { [[ " ${stages[*]} " == *" $1 "* ]]; }

step() { printf '\n==> bench: %s\n' "$*" >&2; }

out=target/bench
mkdir -p "$out"
data=$out/tenants
if $smoke; then
    sizes=(10 100)
    export VANE_BENCH_SIZES=10,100
    export BENCH_BATCH_MS=5
    criterion_args=(--test)
    http_seconds=1
    http_sizes=(100)
else
    sizes=(10 100 1000 10000)
    criterion_args=()
    http_seconds=10
    http_sizes=(100 1000)
fi

# The peers' build needs protoc (open-feature-flagd); the protoc-bin-vendored
# crate in the bench lock file ships one.
bench_cargo() { (cd bench && cargo "$@"); }
PROTOC=$(bench_cargo metadata --format-version 1 | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
        const p = JSON.parse(s).packages.find(p => p.name === "protoc-bin-vendored-linux-x86_64");
        console.log(require("path").dirname(p.manifest_path) + "/bin/protoc");
    });')
export PROTOC

if $smoke; then
    step "generator tests"
    bench_cargo test -q --release --lib
fi

step "tenants (${sizes[*]} flags)"
bench_cargo build -q --release --bin tenantgen --bin sizes
target/release/tenantgen "$data" "${sizes[@]}"

if wants sizes; then
    step "sizes"
    target/release/sizes "${sizes[@]}" > "$out/sizes.jsonl"
    cat "$out/sizes.jsonl"
    if [ -f build/index_bg.wasm ] || ! $smoke; then
        [ -f build/index_bg.wasm ] || { scripts/install-toolchain.sh; scripts/build-worker.sh; }
        for f in build/index_bg.wasm build/index.js; do
            printf '{"file":"%s","bytes":%s,"gzip_bytes":%s}\n' "$f" \
                "$(wc -c < "$f")" "$(gzip -9 -c "$f" | wc -c)"
        done | tee "$out/worker-size.jsonl"
    fi
fi

if wants criterion; then
    step "criterion (native)"
    bench_cargo bench --bench evaluate --bench cold_start --bench confidence -- "${criterion_args[@]}"
    if ! $smoke; then
        # One line per benchmark: its id and criterion's median estimate (ns).
        node -e '
            const fs = require("fs"), path = require("path");
            const walk = d => fs.readdirSync(d, { withFileTypes: true }).flatMap(e =>
                e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
            for (const f of walk("target/criterion").filter(f => f.endsWith("/new/benchmark.json"))) {
                const b = JSON.parse(fs.readFileSync(f));
                const e = JSON.parse(fs.readFileSync(path.join(path.dirname(f), "estimates.json")));
                console.log(JSON.stringify({ id: b.full_id, median_ns: e.median.point_estimate }));
            }' | sort > "$out/criterion.jsonl"
        echo "bench: $(wc -l < "$out/criterion.jsonl") criterion figures in $out/criterion.jsonl" >&2
    fi
fi

if wants wasm; then
    step "wasm (V8 in Node) and the same loops native"
    # The worker's release settings (scripts/build-worker.sh): opt-level z.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=z bench_cargo build -q --release \
        -p vane-wasm-harness --lib --target wasm32-unknown-unknown
    bench_cargo build -q --release -p vane-wasm-harness --bin wasm-harness-native
    wasm_sizes=("${sizes[@]}")
    $smoke || wasm_sizes=(100 1000 10000)
    {
        target/release/wasm-harness-native "$data" "${wasm_sizes[@]}"
        node bench/wasm/run.mjs target/wasm32-unknown-unknown/release/vane_wasm_harness.wasm \
            "$data" "${wasm_sizes[@]}"
    } | tee "$out/wasm.jsonl"
fi

if wants http; then
    step "HTTP: OFREP under wrangler dev (wrk on 127.0.0.1, ${http_seconds}s per run)"
    source scripts/lib/wrangler-dev.sh
    command -v wrk >/dev/null || {
        echo "bench: installing wrk (apt)" >&2
        apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    }
    scripts/install-toolchain.sh
    cargo build -q -p vane-snapshot-builder --bin vane
    scripts/build-worker.sh
    work=$(mktemp -d)
    trap 'stop_wrangler; rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM
    token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
    port=$(free_port)
    start_wrangler "$port" "$work/state" "$work/wrangler.log" --var "ADMIN_TOKEN:$token"
    url="http://127.0.0.1:$port"
    : > "$out/http.jsonl"
    for n in "${http_sizes[@]}"; do
        target/debug/vane publish "$data/$n.cbor" --url "$url" --token "$token" >/dev/null
        # The split flag's key and the tenant's client key.
        read -r key client_key < <(node -e '
            const c = JSON.parse(require("fs").readFileSync(process.argv[1]));
            console.log(c.flags[1].key, c.client_key);' "$data/$n.cases.json")
        bulk_body=$(node -e 'console.log(JSON.stringify({context: JSON.parse(require("fs").readFileSync(process.argv[1])).bulk_context}))' "$data/$n.cases.json")
        for kind in single bulk; do
            if [ "$kind" = single ]; then path="/ofrep/v1/evaluate/flags/$key"; else path=/ofrep/v1/evaluate/flags; fi
            # Warm the isolate (first request decodes the snapshot).
            curl -s -o /dev/null -X POST "$url$path" -H "Authorization: Bearer $client_key" \
                -H 'Content-Type: application/json' -d "$bulk_body"
            BENCH_BODY=$bulk_body BENCH_KEY=$client_key BENCH_LABEL="$kind/$n" \
                wrk -t1 -c8 -d"${http_seconds}s" --timeout 5s -s bench/http/ofrep.lua "$url$path" \
                | grep '^{' | tee -a "$out/http.jsonl"
        done
    done
    # Zero errors is a requirement, not a statistic.
    node -e '
        const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
        const bad = rows.filter(r => Object.values(r.errors).some(n => n > 0) || r.requests === 0);
        if (bad.length) { console.error("bench: HTTP runs with errors:", JSON.stringify(bad)); process.exit(1); }
        console.error(`bench: ${rows.length} HTTP runs, zero errors`);' "$out/http.jsonl"
fi

step "done: results in $out/"
