//! Cold-start benchmarks, native: what an isolate does before its first
//! evaluation (Vane: decode + verify the snapshot, whole or lazily with
//! the first answer; peers: parse the JSON and compile the rules), and what
//! the builder does once per publish.
//! Dropping the result is not timed: an isolate keeps what it decoded.

mod common;

use std::hint::black_box;

use common::datalogic::DlTenant;
use common::Fixture;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vane_bench::tenant::Shape;
use vane_resolver::{Context, Snapshot};
use vane_snapshot_builder::{compile, Format};

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("cold_start");
    g.sample_size(20);
    for n in common::sizes() {
        let f = Fixture::new(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(
            BenchmarkId::new("vane_decode_verify_yaml", n),
            &n,
            |bn, _| {
                bn.iter_with_large_drop(|| {
                    black_box(Snapshot::from_bytes(black_box(&f.yaml_bytes)).unwrap())
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("vane_decode_verify_flagd", n),
            &n,
            |bn, _| {
                bn.iter_with_large_drop(|| {
                    black_box(Snapshot::from_bytes(black_box(&f.flagd_bytes)).unwrap())
                })
            },
        );
        // Lazy decode, as the worker opens a snapshot: verified (envelope,
        // sha256, string table, flag table), no flag decoded; then the same
        // and the first answer (a split flag, decoded on use).
        g.bench_with_input(BenchmarkId::new("vane_open_verify_yaml", n), &n, |bn, _| {
            bn.iter_with_large_drop(|| black_box(Snapshot::open(black_box(&f.yaml_bytes)).unwrap()))
        });
        let split = f.tenant.first(Shape::Split).unwrap().key.clone();
        let ctx = Context::from_value(serde_json::json!({"targetingKey": "user-1"}), 0).unwrap();
        g.bench_with_input(
            BenchmarkId::new("vane_open_first_flag_yaml", n),
            &n,
            |bn, _| {
                bn.iter_with_large_drop(|| {
                    let s = Snapshot::open(black_box(&f.yaml_bytes)).unwrap();
                    black_box(s.evaluate(black_box(&split), &ctx));
                    s
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("json_parse", n), &n, |bn, _| {
            bn.iter(|| {
                black_box(
                    serde_json::from_str::<serde_json::Value>(black_box(&f.flagd_json)).unwrap(),
                )
            })
        });
        g.bench_with_input(
            BenchmarkId::new("datalogic_parse_compile", n),
            &n,
            |bn, _| {
                bn.iter_with_large_drop(|| {
                    black_box(DlTenant::from_flagd(black_box(&f.flagd_json)))
                })
            },
        );
        let features = f.tenant.unleash_json();
        if n <= 1_000 {
            g.bench_with_input(BenchmarkId::new("yggdrasil_take_state", n), &n, |bn, _| {
                bn.iter_with_large_drop(|| black_box(common::unleash::engine(black_box(&features))))
            });
        }
    }
    g.finish();
}

fn build(c: &mut Criterion) {
    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    for n in common::sizes() {
        let f = Fixture::new(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("vane_yaml", n), &n, |bn, _| {
            bn.iter(|| {
                black_box(compile("bench.yaml", black_box(&f.vane_yaml), Format::Vane).unwrap())
            })
        });
        g.bench_with_input(BenchmarkId::new("flagd_json", n), &n, |bn, _| {
            bn.iter(|| {
                black_box(compile("bench.json", black_box(&f.flagd_json), Format::Flagd).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decode, build);
criterion_main!(benches);
