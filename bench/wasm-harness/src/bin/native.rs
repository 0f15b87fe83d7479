//! Runs the wasm harness's loops natively, timed the way
//! `bench/wasm/run.mjs` times them in V8, and prints the same JSON lines:
//! `{"engine":"native","case":…,"flags":N,"ns":…}` (nanoseconds per
//! operation, the median of 7 timed batches after a warm-up; batches of
//! `BENCH_BATCH_MS`, default 50 ms).
//!
//! Usage: `wasm-harness-native DIR [N...]` over the files `tenantgen` wrote.

use std::time::Instant;

use serde_json::{json, Value};
use vane_resolver::{Context, Snapshot};
use vane_wasm_harness::{
    cold_flag_n, decode_n, eval_all_n, eval_flag_n, open_host, open_n, open_own, sha256_n, NOW,
};

/// Median nanoseconds per operation of `run(n)`, `n` sized so one batch
/// takes about 50 ms (`BENCH_BATCH_MS`, as for `run.mjs`).
fn time(mut run: impl FnMut(u32)) -> f64 {
    let batch_ms: u128 = std::env::var("BENCH_BATCH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mut n = 1u32;
    loop {
        let t = Instant::now();
        run(n);
        if t.elapsed().as_millis() >= batch_ms || n >= 1 << 30 {
            break;
        }
        n *= 2;
    }
    let mut samples: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            run(n);
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[3]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: wasm-harness-native DIR [N...]"));
    for n in args {
        let bytes = std::fs::read(dir.join(format!("{n}.cbor"))).unwrap();
        let cases: Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{n}.cases.json"))).unwrap())
                .unwrap();
        let snap = Snapshot::from_bytes(&bytes).unwrap();
        let print = |case: &str, ns: f64| {
            println!(
                "{}",
                json!({"engine": "native", "case": case, "flags": n.parse::<u64>().unwrap(), "ns": ns})
            );
        };
        print(
            "decode_verify",
            time(|k| {
                decode_n(&bytes, k);
            }),
        );
        print(
            "open_verify",
            time(|k| {
                open_n(&bytes, open_own, k);
            }),
        );
        print(
            "open_verify_host_sha",
            time(|k| {
                open_n(&bytes, open_host, k);
            }),
        );
        print(
            "sha256",
            time(|k| {
                sha256_n(&bytes, k);
            }),
        );
        let bulk = Context::from_value(cases["bulk_context"].clone(), NOW).unwrap();
        print(
            "all_flags",
            time(|k| {
                eval_all_n(&snap, &bulk, k);
            }),
        );
        for c in cases["flags"].as_array().unwrap() {
            let ctx = Context::from_value(c["context"].clone(), NOW).unwrap();
            let key = c["key"].as_str().unwrap();
            print(
                &format!("flag/{}", c["name"].as_str().unwrap()),
                time(|k| {
                    eval_flag_n(&snap, key, &ctx, k);
                }),
            );
            print(
                &format!("cold_flag/{}", c["name"].as_str().unwrap()),
                time(|k| {
                    cold_flag_n(&bytes, key, &ctx, open_own, k);
                }),
            );
            print(
                &format!("cold_flag_host_sha/{}", c["name"].as_str().unwrap()),
                time(|k| {
                    cold_flag_n(&bytes, key, &ctx, open_host, k);
                }),
            );
        }
    }
}
