//! What every benchmark needs: the generated tenants built for Vane, and
//! the peer engines loaded with the same rules.
//!
//! Peers get their best documented usage: rules compiled once, the
//! context converted once into the engine's own data type, results read
//! without converting them back to JSON. The harness code around each
//! peer (variant lookup, reason) is the least a flag service needs.

#![allow(dead_code)] // each bench target uses part of this module

pub mod datalogic;
pub mod flagd;
pub mod unleash;

use serde_json::Value;
use vane_bench::tenant::{Tenant, SEED};
use vane_resolver::{Context, Snapshot};
use vane_snapshot_builder::{build, BuildOptions, Format};

/// Tenant sizes to run: `VANE_BENCH_SIZES` (comma-separated flag counts,
/// `scripts/bench.sh --smoke` sets a small one), else 10, 100, 1,000 and
/// 10,000.
pub fn sizes() -> Vec<usize> {
    match std::env::var("VANE_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("VANE_BENCH_SIZES: comma-separated flag counts")
            })
            .collect(),
        Err(_) => vane_bench::tenant::SIZES.to_vec(),
    }
}

/// The tenant size of the single-flag benchmarks: 1,000 flags, or the
/// largest of [`sizes`] when that is smaller.
pub fn single_flag_size() -> usize {
    sizes().into_iter().max().unwrap_or(1_000).min(1_000)
}

/// Evaluation time of every benchmark context (2026-06-01, Unix seconds).
pub const NOW: i64 = 1_780_272_000;

/// The seed of benchmark contexts.
pub const CONTEXT_SEED: u64 = 42;

/// A tenant and its Vane snapshots.
pub struct Fixture {
    /// The generated tenant.
    pub tenant: Tenant,
    /// Snapshot bytes of the tenant's Vane YAML.
    pub yaml_bytes: Vec<u8>,
    /// Snapshot bytes of the tenant's flagd JSON.
    pub flagd_bytes: Vec<u8>,
    /// The flagd JSON text.
    pub flagd_json: String,
    /// The Vane YAML text.
    pub vane_yaml: String,
}

impl Fixture {
    /// Generates and builds the tenant of `n` flags.
    pub fn new(n: usize) -> Fixture {
        let tenant = Tenant::generate(SEED, n);
        let vane_yaml = tenant.vane_yaml();
        let flagd_json = tenant.flagd_json();
        let options = BuildOptions {
            tenant: Some(tenant.name.clone()),
            version: 1,
            created_at: 1_780_000_000,
            format_version: vane_resolver::snapshot::FORMAT_VERSION,
        };
        let yaml = build("bench.yaml", &vane_yaml, Format::Vane, &options)
            .unwrap_or_else(|d| panic!("generated Vane YAML does not build: {d:?}"));
        let flagd = build("bench.json", &flagd_json, Format::Flagd, &options)
            .unwrap_or_else(|d| panic!("generated flagd JSON does not build: {d:?}"));
        Fixture {
            tenant,
            yaml_bytes: yaml.bytes,
            flagd_bytes: flagd.bytes,
            flagd_json,
            vane_yaml,
        }
    }

    /// The snapshot of the Vane YAML source.
    pub fn yaml_snapshot(&self) -> Snapshot {
        Snapshot::from_bytes(&self.yaml_bytes).unwrap()
    }

    /// The snapshot of the flagd source.
    pub fn flagd_snapshot(&self) -> Snapshot {
        Snapshot::from_bytes(&self.flagd_bytes).unwrap()
    }
}

/// Benchmark contexts as JSON values.
pub fn contexts(count: usize) -> Vec<Value> {
    Tenant::contexts(CONTEXT_SEED, count)
}

/// A Vane context from a JSON value.
pub fn vane_context(v: &Value) -> Context {
    Context::from_value(v.clone(), NOW).unwrap()
}

/// A context with `email` set (a set hit or miss) and a recent app.
pub fn probe_context(email: &str) -> Value {
    serde_json::json!({
        "targetingKey": "user-8841",
        "email": email,
        "country": "DE",
        "plan": "pro",
        "appVersion": "4.3.1",
        "platform": "ios",
        "region": "eu-central-1",
        "age": 34,
        "sessions": 12,
    })
}
