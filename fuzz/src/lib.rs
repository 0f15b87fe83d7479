//! Helpers shared by the fuzz targets in `fuzz_targets/`.

pub mod worker;

use vane_resolver::{Context, Snapshot};
use vane_snapshot_builder::{build, compile, encode, vane, BuildOptions, Compiled, Format};

/// The input as UTF-8 text, or `None` (front ends take `&str`).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Checks what a front end compiled: it encodes (unless over the size
/// limit or without a tenant, which `encode` reports as diagnostics), the
/// bytes decode, and every flag evaluates against two contexts.
pub fn check_compiled(compiled: Compiled) {
    let options = BuildOptions {
        tenant: Some(compiled.tenant.clone().unwrap_or_else(|| "fuzz".to_owned())),
        version: 1,
        created_at: 1_700_000_000,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    let Ok(built) = encode("fuzz", compiled, &options) else {
        return;
    };
    let snapshot = Snapshot::from_bytes(&built.bytes).expect("built snapshots decode");
    let contexts = [
        Context::empty(1_700_000_000),
        Context::from_json(
            r#"{"targetingKey":"user-1","email":"a@shop.example","country":"SE","version":"1.2.3","n":7}"#,
            1_700_000_000,
        )
        .expect("a fixed context parses"),
    ];
    for context in &contexts {
        for flag in snapshot.flags() {
            let _ = snapshot.evaluate(&flag.key, context).to_json();
        }
    }
}

/// The example tenants' snapshots, built from `examples/`.
pub fn example_snapshots() -> Vec<Snapshot> {
    example_snapshot_bytes()
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

/// The example tenants' snapshots with their encoded bytes.
pub fn example_snapshot_bytes() -> Vec<(Snapshot, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/");
    let read = |name: &str| {
        std::fs::read_to_string(format!("{dir}{name}")).expect("the examples are readable")
    };
    let options = |tenant: Option<&str>| BuildOptions {
        tenant: tenant.map(str::to_owned),
        version: 1,
        created_at: 1_700_000_000,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    let shop = build(
        "shop.yaml",
        &read("shop.yaml"),
        Format::Vane,
        &options(None),
    )
    .expect("examples/shop.yaml builds");
    let access = vane::access("media.access.yaml", &read("media.access.yaml"))
        .expect("examples/media.access.yaml reads");
    let media = compile("media.flagd.json", &read("media.flagd.json"), Format::Flagd)
        .and_then(|c| c.with_access(access))
        .and_then(|c| encode("media.flagd.json", c, &options(Some("media"))))
        .expect("examples/media.flagd.json builds");
    vec![(shop.snapshot, shop.bytes), (media.snapshot, media.bytes)]
}
