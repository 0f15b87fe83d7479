//! Evaluation benchmarks, native: one flag of each shape, and every flag
//! of a tenant for one context, Vane against the peers on the same rules.
//!
//! Vane is measured end to end for a flag: look the flag up by key, run
//! its rules, build the OFREP result (borrowing the variant value). Peers
//! run their compiled rule against a pre-parsed context plus the variant
//! lookup a flag service needs.
//!
//! Every engine's result is consumed in place (`black_box` of a reference
//! to it), not moved into criterion's slot: Vane's result is built out of
//! line, and moving its 88 bytes through the stack twice stalled on store
//! forwarding, ~40 % of the static case (`perf annotate`), a cost no
//! server pays when it writes the result out.

mod common;

use std::hint::black_box;

use common::datalogic::DlTenant;
use common::{contexts, probe_context, vane_context, Fixture};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use datalogic_rs::bumpalo::Bump;
use vane_bench::tenant::{Cond, Shape};
use vane_resolver::expr::StrSet;

/// The single-flag cases: name, shape, and the email of the context.
fn cases(f: &Fixture) -> Vec<(&'static str, String, String)> {
    let key = |s: Shape| f.tenant.first(s).unwrap().key.clone();
    let in100 = f.tenant.first(Shape::In100).unwrap();
    let Some(Cond::InStrings(_, set)) = &in100.rules[0].when else {
        unreachable!()
    };
    let member = set[set.len() / 2].clone();
    let other = "nobody@nowhere.example".to_owned();
    vec![
        ("static", key(Shape::Static), other.clone()),
        ("split_50_50", key(Shape::Split), other.clone()),
        ("in_100_hit", key(Shape::In100), member),
        ("in_100_miss", key(Shape::In100), other.clone()),
        ("semver_gte", key(Shape::Semver), other.clone()),
        (
            "ends_with",
            key(Shape::EndsWith),
            "ana@corp.example".to_owned(),
        ),
    ]
}

fn single_flag(c: &mut Criterion) {
    let f = Fixture::new(common::single_flag_size());
    let yaml = f.yaml_snapshot();
    let flagd = f.flagd_snapshot();
    let dl = DlTenant::from_flagd(&f.flagd_json);
    let ygg = common::unleash::engine(&f.tenant.unleash_json());
    let mut g = c.benchmark_group("flag");
    for (name, key, email) in cases(&f) {
        let json = probe_context(&email);
        let ctx = vane_context(&json);
        // The engines must agree before their speed means anything.
        let a = yaml.evaluate(&key, &ctx);
        let b = flagd.evaluate(&key, &ctx);
        // Splits agree in distribution only: Vane hashes "{salt}|{unit}",
        // flagd hashes flag key + unit.
        if name != "split_50_50" {
            assert_eq!(a.variant, b.variant, "{name}: vane yaml vs flagd source");
        }
        g.bench_function(BenchmarkId::new("vane_yaml", name), |bn| {
            bn.iter(|| {
                black_box(&yaml.evaluate(black_box(&key), black_box(&ctx)));
            })
        });
        g.bench_function(BenchmarkId::new("vane_flagd", name), |bn| {
            bn.iter(|| {
                black_box(&flagd.evaluate(black_box(&key), black_box(&ctx)));
            })
        });
        let data = DlTenant::context(&json);
        let mut arena = Bump::new();
        {
            let flag = dl.flag(&key);
            let r = dl.evaluate(flag, data.value(), &arena);
            assert_eq!(r.variant, b.variant, "{name}: datalogic vs vane");
        }
        g.bench_function(BenchmarkId::new("datalogic", name), |bn| {
            bn.iter(|| {
                {
                    let flag = dl.flag(black_box(&key));
                    black_box(&dl.evaluate(flag, data.value(), &arena));
                }
                arena.reset();
            })
        });
        let uctx = common::unleash::context(&json);
        if name != "static" {
            g.bench_function(BenchmarkId::new("yggdrasil", name), |bn| {
                bn.iter(|| black_box(ygg.is_enabled(black_box(&key), black_box(&uctx), &None)))
            });
        }
    }
    g.finish();
}

fn flagd_in_process(c: &mut Criterion) {
    let n = common::single_flag_size().min(100);
    let f = Fixture::new(n);
    let flagd = common::flagd::Flagd::load(&format!("bench-{n}"), &f.flagd_json);
    let snapshot = f.flagd_snapshot();
    let mut g = c.benchmark_group("flag");
    for (name, key, email) in cases(&f) {
        let json = probe_context(&email);
        let octx = common::flagd::context(&json);
        let expected = snapshot.evaluate(&key, &vane_context(&json)).value.cloned();
        assert_eq!(
            flagd.bool(&key, &octx).map(Into::into),
            expected,
            "{name}: open-feature-flagd vs vane"
        );
        g.bench_function(BenchmarkId::new("open_feature_flagd", name), |bn| {
            bn.iter(|| black_box(flagd.bool(black_box(&key), black_box(&octx))))
        });
    }
    g.finish();
}

fn all_flags(c: &mut Criterion) {
    let mut g = c.benchmark_group("all_flags");
    for n in common::sizes() {
        let f = Fixture::new(n);
        let yaml = f.yaml_snapshot();
        let flagd = f.flagd_snapshot();
        let json = &contexts(1)[0];
        let ctx = vane_context(json);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("vane_yaml", n), &n, |bn, _| {
            bn.iter(|| black_box(yaml.evaluate_all(black_box(&ctx))))
        });
        g.bench_with_input(BenchmarkId::new("vane_flagd", n), &n, |bn, _| {
            bn.iter(|| black_box(flagd.evaluate_all(black_box(&ctx))))
        });
        g.bench_with_input(BenchmarkId::new("vane_yaml_ofrep_json", n), &n, |bn, _| {
            bn.iter(|| black_box(yaml.bulk_json(black_box(&ctx))))
        });
        g.bench_with_input(BenchmarkId::new("vane_flagd_ofrep_json", n), &n, |bn, _| {
            bn.iter(|| black_box(flagd.bulk_json(black_box(&ctx))))
        });
        let dl = DlTenant::from_flagd(&f.flagd_json);
        let data = DlTenant::context(json);
        let mut arena = Bump::new();
        {
            let ours = flagd.evaluate_all(&ctx);
            for (flag, r) in dl.flags.iter().zip(&ours) {
                let theirs = dl.evaluate(flag, data.value(), &arena);
                assert_eq!(theirs.variant, r.variant, "{}", flag.key);
            }
        }
        g.bench_with_input(BenchmarkId::new("datalogic", n), &n, |bn, _| {
            bn.iter(|| {
                {
                    let out: Vec<_> = dl
                        .flags
                        .iter()
                        .map(|flag| dl.evaluate(flag, data.value(), &arena))
                        .collect();
                    black_box(out.len());
                }
                arena.reset();
            })
        });
        let ygg = common::unleash::engine(&f.tenant.unleash_json());
        let uctx = common::unleash::context(json);
        g.bench_with_input(BenchmarkId::new("yggdrasil_resolve_all", n), &n, |bn, _| {
            bn.iter(|| black_box(ygg.resolve_all(black_box(&uctx), &None)))
        });
    }
    g.finish();
}

/// String-set membership (`in` of Vane YAML, flagd's `in` over a literal
/// list) among 10,000 members, hit and miss: members with distinct 8-byte
/// prefixes (`u00001@shop.example`) and members that all share one
/// (`tenant-a-user-00001`), the case a prefix search alone cannot narrow.
fn string_sets(c: &mut Criterion) {
    let n = 10_000;
    let mut g = c.benchmark_group("strset");
    for (name, member) in [
        (
            "distinct_prefixes",
            (|i| format!("u{i:05}@shop.example")) as fn(usize) -> String,
        ),
        ("shared_prefix", |i| format!("tenant-a-user-{i:05}")),
    ] {
        let members: Vec<String> = (0..n).map(member).collect();
        let set = StrSet::new(&members);
        let hit = member(n / 3);
        let miss = format!("{hit}x");
        assert!(set.contains(&hit) && !set.contains(&miss));
        g.bench_function(BenchmarkId::new(name, "hit"), |bn| {
            bn.iter(|| black_box(set.contains(black_box(&hit))))
        });
        g.bench_function(BenchmarkId::new(name, "miss"), |bn| {
            bn.iter(|| black_box(set.contains(black_box(&miss))))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    single_flag,
    all_flags,
    flagd_in_process,
    string_sets
);
criterion_main!(benches);
