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
#   workerd    the built worker on plain workerd against Unleash Edge (offline
#              mode, the same tenant as Unleash features), each pinned to one
#              core, the same wrk settings, and for single flags the floor (a
#              worker answering a constant on the same workerd) and Vane's
#              answer without evaluation (bench/http/same-answer.mjs); smoke:
#              workerd only, a second a run
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
        sizes | criterion | wasm | http | workerd) stages+=("$arg") ;;
        *) echo "bench: unknown argument '$arg' (use --smoke, sizes, criterion, wasm, http, workerd)" >&2; exit 2 ;;
    esac
done
[ ${#stages[@]} -gt 0 ] || stages=(sizes criterion wasm http workerd)
wants() { [[ " ${stages[*]} " == *" $1 "* ]]; }

step() { printf '\n==> bench: %s\n' "$*" >&2; }

# Servers the HTTP stages start, each in its own process group, and their
# scratch directories: all stopped and removed on exit.
source scripts/lib/wrangler-dev.sh
server_pgids=()
scratch=()
# stop_server PGID: TERM, then KILL after 10 s.
stop_server() {
    kill -TERM -- "-$1" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 -- "-$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -KILL -- "-$1" 2>/dev/null || true
}
stop_servers() {
    local g
    for g in "${server_pgids[@]}"; do stop_server "$g"; done
    server_pgids=()
}
trap 'stop_wrangler; stop_servers; rm -rf "${scratch[@]}"' EXIT
trap 'exit 130' INT TERM

# start_server NAME URL LOG COMMAND...: starts COMMAND in its own process
# group (its id in $server_pgid) and waits (60 s) until URL answers.
server_pgid=""
start_server() {
    local name=$1 url=$2 log=$3
    shift 3
    setsid "$@" </dev/null >"$log" 2>&1 &
    server_pgid=$!
    server_pgids+=("$server_pgid")
    wait_until_up "bench: $name" "$server_pgid" "$url" "$log"
}

# tenant_case N: the tenant's split flag key ($key), client key
# ($client_key) and bulk context ($bulk_context, JSON) from N.cases.json.
tenant_case() {
    read -r key client_key bulk_context < <(node -e '
        const c = JSON.parse(require("fs").readFileSync(process.argv[1]));
        console.log(c.flags[1].key, c.client_key, JSON.stringify(c.bulk_context));' "$data/$1.cases.json")
}

# load LABEL AUTH BODY URL: one wrk run with the suite's settings, its JSON
# line on stdout.
load() {
    BENCH_LABEL=$1 BENCH_AUTH=$2 BENCH_BODY=$3 $wrk_pin wrk -t1 -c8 -d"${http_seconds}s" --timeout 5s \
        -s bench/http/post.lua "$4" | grep '^{'
}
wrk_pin=""

# Fails unless every run in the JSONL file had zero errors.
no_errors() {
    node -e '
        const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
        const bad = rows.filter(r => Object.values(r.errors).some(n => n > 0) || r.requests === 0);
        if (bad.length) { console.error("bench: HTTP runs with errors:", JSON.stringify(bad)); process.exit(1); }
        console.error(`bench: ${rows.length} HTTP runs, zero errors`);' "$1"
}

# Tools both HTTP stages need: wrk, the worker build, the vane CLI.
http_tools_ready=false
http_tools() {
    $http_tools_ready && return
    command -v wrk >/dev/null || {
        echo "bench: installing wrk (apt)" >&2
        apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    }
    scripts/install-toolchain.sh
    cargo build -q -p vane-snapshot-builder --bin vane
    scripts/build-worker.sh
    http_tools_ready=true
}

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
    http_rounds=1
else
    sizes=(10 100 1000 10000)
    criterion_args=()
    http_seconds=10
    http_sizes=(100 1000)
    http_rounds=3
fi
# Unleash Edge, the peer of the `workerd` stage (crates.io; without the
# default S3 persistence feature, which offline mode does not use).
UNLEASH_EDGE_VERSION=20.1.0

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
    http_tools
    work=$(mktemp -d)
    scratch+=("$work")
    token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
    port=$(free_port)
    start_wrangler "$port" "$work/state" "$work/wrangler.log" --var "ADMIN_TOKEN:$token"
    url="http://127.0.0.1:$port"
    : > "$out/http.jsonl"
    for n in "${http_sizes[@]}"; do
        target/debug/vane publish "$data/$n.cbor" --url "$url" --token "$token" >/dev/null
        tenant_case "$n"
        bulk_body="{\"context\":$bulk_context}"
        for kind in single bulk; do
            if [ "$kind" = single ]; then path="/ofrep/v1/evaluate/flags/$key"; else path=/ofrep/v1/evaluate/flags; fi
            # Warm the isolate (first request decodes the snapshot).
            curl -s -o /dev/null -X POST "$url$path" -H "Authorization: Bearer $client_key" \
                -H 'Content-Type: application/json' -d "$bulk_body"
            load "$kind/$n" "Bearer $client_key" "$bulk_body" "$url$path" | tee -a "$out/http.jsonl"
        done
    done
    stop_wrangler
    # Zero errors is a requirement, not a statistic.
    no_errors "$out/http.jsonl"
fi

if wants workerd; then
    if $smoke; then
        step "HTTP per core: the worker on plain workerd (smoke: no Unleash Edge, ${http_seconds}s a run)"
    else
        step "HTTP per core: the worker on plain workerd against Unleash Edge $UNLEASH_EDGE_VERSION (${http_seconds}s a run, $http_rounds rounds)"
    fi
    http_tools
    edge_bin=target/unleash-edge/bin/unleash-edge
    if ! $smoke && ! { [ -x "$edge_bin" ] && grep -q "unleash-edge $UNLEASH_EDGE_VERSION " target/unleash-edge/.crates.toml; }; then
        echo "bench: building Unleash Edge $UNLEASH_EDGE_VERSION (several minutes on 2 cores)" >&2
        cargo install -q unleash-edge --locked --version "$UNLEASH_EDGE_VERSION" --no-default-features \
            --root target/unleash-edge --target-dir target/unleash-edge/build
    fi
    # One core for the server under test, another for wrk: the figures are
    # per core. (On a single-core machine nothing is pinned.)
    server_pin=""
    if [ "$(nproc)" -ge 2 ]; then
        server_pin="taskset -c $(($(nproc) - 1))"
        wrk_pin="taskset -c 0"
    fi
    work=$(mktemp -d)
    scratch+=("$work")
    token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
    port=$(free_port)
    sink_port=$(free_port)
    floor_port=$(free_port)
    same_port=$(free_port)
    node bench/http/workerd-config.mjs "$work/workerd" "$port" "$sink_port" "$token" "$floor_port" "$same_port"
    url="http://127.0.0.1:$port"
    start_server workerd "$url/" "$work/workerd.log" $server_pin node_modules/workerd/bin/workerd serve "$work/workerd/vane.capnp"
    : > "$out/workerd.jsonl"
    single_requests=0
    for n in "${http_sizes[@]}"; do
        target/debug/vane publish "$data/$n.cbor" --url "$url" --token "$token" >/dev/null
        tenant_case "$n"
        vane_body="{\"context\":$bulk_context}"
        if ! $smoke; then
            # Unleash Edge in offline mode with the same tenant; tokens of any
            # project (*), as an Unleash frontend and client token look.
            edge_port=$(free_port)
            edge_url="http://127.0.0.1:$edge_port"
            edge_token="*:development.bench-$n-frontend"
            start_server "Unleash Edge" "$edge_url/internal-backstage/health" "$work/edge-$n.log" \
                $server_pin env RUST_LOG=warn "$edge_bin" --port "$edge_port" --interface 127.0.0.1 offline \
                --bootstrap-file "$data/$n.unleash.json" --client-tokens "*:development.bench-$n-client" \
                --frontend-tokens "$edge_token"
            edge_pgid=$server_pgid
            edge_body=$(node bench/http/unleash-edge.mjs body "$data/$n.cases.json")
            # A benchmark of wrong answers is worthless: both must agree first.
            node bench/http/unleash-edge.mjs check "$url" "$client_key" "$edge_url" "$edge_token" "$data/$n.cases.json"
        fi
        for kind in single bulk; do
            if [ "$kind" = single ]; then
                path="/ofrep/v1/evaluate/flags/$key" edge_path="/api/frontend/features/$key"
            else
                path=/ofrep/v1/evaluate/flags edge_path=/api/frontend/all
            fi
            # Warm up: the first request decodes the snapshot.
            curl -sf -o /dev/null -X POST "$url$path" -H "Authorization: Bearer $client_key" \
                -H 'Content-Type: application/json' -d "$vane_body"
            # (And for single flags the answer-without-evaluation worker's
            # first request, which it asks Vane, once per tenant.)
            [ "$kind" = bulk ] || single_requests=$((single_requests + 2))
            # Rounds alternate the two servers, so load from outside the
            # benchmark falls on both alike.
            for ((round = 1; round <= http_rounds; round++)); do
                load "workerd/$kind/$n" "Bearer $client_key" "$vane_body" "$url$path" | tee -a "$out/workerd.jsonl"
                $smoke || load "unleash-edge/$kind/$n" "$edge_token" "$edge_body" "$edge_url$edge_path" \
                    | tee -a "$out/workerd.jsonl"
                # The floor: a worker answering a constant on the same workerd;
                # and Vane's own answer given again without evaluating it.
                if [ "$kind" = single ]; then
                    load "workerd-floor/$kind/$n" "none" "$vane_body" "http://127.0.0.1:$floor_port/" \
                        | tee -a "$out/workerd.jsonl"
                    load "workerd-same-answer/$kind/$n" "Bearer $client_key" "$vane_body" "http://127.0.0.1:$same_port$path" \
                        | tee -a "$out/workerd.jsonl"
                fi
            done
        done
        $smoke || stop_server "$edge_pgid"
    done
    no_errors "$out/workerd.jsonl"
    # Every single-flag request served by the split sends one exposure
    # message: the queue must have taken at least one per counted request
    # (wrk does not count requests still in flight when it stops).
    sleep 1
    curl -sf "http://127.0.0.1:$sink_port/count" | node -e '
        let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
            const sink = JSON.parse(s), warm = Number(process.argv[2]);
            const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
            const sent = warm + rows.filter(r => r.label.startsWith("workerd/single/")).reduce((a, r) => a + r.requests, 0);
            if (sink.messages < sent) { console.error(`bench: ${sent} exposing requests, ${sink.messages} queue messages`); process.exit(1); }
            console.error(`bench: ${sink.messages} exposure messages queued for ${sent} counted single-flag requests`);
        });' "$out/workerd.jsonl" "$single_requests"
fi

step "done: results in $out/"
