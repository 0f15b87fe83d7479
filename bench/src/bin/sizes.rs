//! Prints the size table of `docs/benchmarks.md` as JSON lines: per tenant
//! size, the flagd JSON (raw, gzipped), the Vane YAML, and the snapshot
//! built from each (raw, gzipped), with the body's share of the snapshot.
//!
//! Usage: `sizes [N...]` (default: 10 100 1000 10000).

use std::io::Write as _;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;
use vane_bench::tenant::{Tenant, SEED, SIZES};
use vane_snapshot_builder::{build, BuildOptions, Format};

fn gzip(bytes: &[u8]) -> usize {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes are flag counts"))
        .collect();
    let sizes = if sizes.is_empty() {
        SIZES.to_vec()
    } else {
        sizes
    };
    for n in sizes {
        let t = Tenant::generate(SEED, n);
        let (yaml, flagd) = (t.vane_yaml(), t.flagd_json());
        let compact = serde_json::to_string(&t.flagd_value()).unwrap();
        let options = BuildOptions {
            tenant: Some(t.name.clone()),
            version: 1,
            created_at: 1_780_000_000,
            format_version: vane_resolver::snapshot::FORMAT_VERSION,
        };
        let from_yaml = build("bench.yaml", &yaml, Format::Vane, &options).unwrap();
        let from_flagd = build("bench.json", &flagd, Format::Flagd, &options).unwrap();
        let row = json!({
            "flags": n,
            "flagd_json": flagd.len(),
            "flagd_json_gz": gzip(flagd.as_bytes()),
            "flagd_json_min": compact.len(),
            "flagd_json_min_gz": gzip(compact.as_bytes()),
            "vane_yaml": yaml.len(),
            "snapshot_from_yaml": from_yaml.bytes.len(),
            "snapshot_from_yaml_gz": gzip(&from_yaml.bytes),
            "snapshot_from_flagd": from_flagd.bytes.len(),
            "snapshot_from_flagd_gz": gzip(&from_flagd.bytes),
        });
        println!("{row}");
    }
}
