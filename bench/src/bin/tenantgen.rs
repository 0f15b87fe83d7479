//! Writes the generated tenants and the harness inputs to a directory, for
//! the wasm and HTTP benchmarks of `scripts/bench.sh`.
//!
//! Usage: `tenantgen OUT_DIR [N...]` (default sizes 10 100 1000 10000).
//! For each size N it writes `N.yaml` (Vane YAML), `N.flagd.json`,
//! `N.cbor` (the snapshot of the Vane YAML, tenant `bench-N`, version 1),
//! `N.flagd.cbor`, `N.unleash.json` (the same flags as Unleash client
//! features, the bootstrap file of Unleash Edge in offline mode), and
//! `N.cases.json`: the single-flag cases (name, key, context), the bulk
//! context (the same the criterion benches use), a few more contexts for
//! the HTTP stage's equivalence check, and the tenant's client key.

use std::path::PathBuf;

use serde_json::json;
use vane_bench::tenant::{client_key, Cond, Shape, Tenant, SEED, SIZES};
use vane_snapshot_builder::{build, BuildOptions, Format};

/// The probe context of the single-flag cases (as in `benches/common`).
fn probe(email: &str) -> serde_json::Value {
    json!({
        "targetingKey": "user-8841", "email": email, "country": "DE", "plan": "pro",
        "appVersion": "4.3.1", "platform": "ios", "region": "eu-central-1", "age": 34,
        "sessions": 12,
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: tenantgen OUT_DIR [N...]"));
    let sizes: Vec<usize> = args
        .map(|a| a.parse().expect("sizes are flag counts"))
        .collect();
    let sizes = if sizes.is_empty() {
        SIZES.to_vec()
    } else {
        sizes
    };
    std::fs::create_dir_all(&out).unwrap();
    for n in sizes {
        let t = Tenant::generate(SEED, n);
        let (yaml, flagd) = (t.vane_yaml(), t.flagd_json());
        let options = BuildOptions {
            tenant: Some(t.name.clone()),
            version: 1,
            created_at: 1_780_000_000,
            format_version: vane_resolver::snapshot::FORMAT_VERSION,
        };
        let a = build("bench.yaml", &yaml, Format::Vane, &options).unwrap();
        let b = build("bench.json", &flagd, Format::Flagd, &options).unwrap();
        std::fs::write(out.join(format!("{n}.yaml")), &yaml).unwrap();
        std::fs::write(out.join(format!("{n}.flagd.json")), &flagd).unwrap();
        std::fs::write(out.join(format!("{n}.cbor")), &a.bytes).unwrap();
        std::fs::write(out.join(format!("{n}.flagd.cbor")), &b.bytes).unwrap();
        let unleash = serde_json::to_string(&t.unleash_json()).unwrap();
        std::fs::write(out.join(format!("{n}.unleash.json")), unleash).unwrap();
        let key = |s: Shape| t.first(s).unwrap().key.clone();
        let member = match &t.first(Shape::In100).unwrap().rules[0].when {
            Some(Cond::InStrings(_, set)) => set[set.len() / 2].clone(),
            _ => unreachable!("the in-100 shape tests an email set"),
        };
        let other = "nobody@nowhere.example";
        let cases = json!({
            "tenant": t.name,
            "client_key": client_key(&t.name),
            "flags": [
                {"name": "static", "key": key(Shape::Static), "context": probe(other)},
                {"name": "split_50_50", "key": key(Shape::Split), "context": probe(other)},
                {"name": "in_100_hit", "key": key(Shape::In100), "context": probe(&member)},
                {"name": "in_100_miss", "key": key(Shape::In100), "context": probe(other)},
                {"name": "semver_gte", "key": key(Shape::Semver), "context": probe(other)},
                {"name": "ends_with", "key": key(Shape::EndsWith), "context": probe("ana@corp.example")},
            ],
            "bulk_context": Tenant::contexts(42, 1)[0],
            "check_contexts": Tenant::contexts(7, 16),
        });
        std::fs::write(out.join(format!("{n}.cases.json")), cases.to_string()).unwrap();
    }
}
