//! The golden snapshot of `examples/shop.yaml` (tenant `shop`, version 1,
//! created_at 1700000000), checked in at `tests/golden/shop.cbor`. Any change
//! to the format, the encoding or the compiler's output shows up in review as
//! a changed binary file, and this test says what changed.
//!
//! To accept a deliberate change: `UPDATE_GOLDEN=1 cargo test -p
//! vane-snapshot-builder --test all golden`, and say why in the commit message.

use std::path::Path;

use vane_resolver::Snapshot;
use vane_snapshot_builder::{build, BuildOptions, Format};

fn explain(old: &[u8], new: &Snapshot, new_bytes: &[u8]) -> String {
    let old = match Snapshot::from_bytes(old) {
        Ok(s) => s,
        Err(e) => {
            return format!(
                "the golden file no longer decodes ({e}): the envelope or body layout changed"
            )
        }
    };
    let mut why = Vec::new();
    let (a, b) = (&old.info, &new.info);
    if a.builder != b.builder {
        why.push(format!("builder changed: {} -> {}", a.builder, b.builder));
    }
    if a.bucketing_version != b.bucketing_version {
        why.push(format!(
            "bucketing version changed: {} -> {}",
            a.bucketing_version, b.bucketing_version
        ));
    }
    let keys = |s: &Snapshot| {
        s.body
            .flags
            .iter()
            .map(|f| f.key.clone())
            .collect::<Vec<_>>()
    };
    if keys(&old) != keys(new) {
        why.push(format!(
            "flag keys changed: {:?} -> {:?}",
            keys(&old),
            keys(new)
        ));
    }
    for f in &new.body.flags {
        if let Some(o) = old.body.flag(&f.key) {
            if o != f {
                why.push(format!("flag '{}' compiles differently", f.key));
            }
        }
    }
    if old.body.clients != new.body.clients {
        why.push("clients changed".into());
    }
    if old.body.cors_origins != new.body.cors_origins {
        why.push("CORS origins changed".into());
    }
    if old.body.metadata != new.body.metadata {
        why.push("flag-set metadata changed".into());
    }
    if why.is_empty() {
        why.push(format!(
            "the IR is identical but the bytes differ ({} -> {} bytes): the CBOR encoding changed",
            old.info.byte_size,
            new_bytes.len()
        ));
    }
    why.join("; ")
}

#[test]
fn shop_example_matches_the_golden_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("../examples/shop.yaml")).unwrap();
    let built = build(
        "examples/shop.yaml",
        &text,
        Format::Vane,
        &BuildOptions {
            tenant: Some("shop".into()),
            version: 1,
            created_at: 1_700_000_000,
        },
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    let golden_path = root.join("tests/golden/shop.cbor");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden_path, &built.bytes).unwrap();
    }
    let golden = std::fs::read(&golden_path)
        .expect("tests/golden/shop.cbor exists (UPDATE_GOLDEN=1 writes it)");
    assert!(
        golden == built.bytes,
        "the shop snapshot changed: {}. If intended, run with UPDATE_GOLDEN=1 and explain the change in the commit.",
        explain(&golden, &built.snapshot, &built.bytes)
    );
    // The digest is the identity: pin it in text too, so a review shows it.
    let digest_path = root.join("tests/golden/shop.sha256");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&digest_path, format!("{}\n", built.snapshot.info.digest)).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(digest_path).unwrap().trim(),
        built.snapshot.info.digest
    );
}
