//! The golden snapshot of `examples/shop.yaml` (tenant `shop`, version 1,
//! created_at 1700000000), checked in at `tests/golden/shop.cbor`. Any change
//! to the format, the encoding or the compiler's output shows up in review as
//! a changed binary file, and this test says what changed.
//!
//! Its signed twin, `tests/golden/shop.signed.cbor`, is the same snapshot
//! signed with the RFC 8032 (section 7.1, test 1) secret key: Ed25519 is
//! deterministic, so a change to the signed message or to the signature
//! fields shows up the same way.
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
    let keys = |s: &Snapshot| s.flags().map(|f| f.key.clone()).collect::<Vec<_>>();
    if keys(&old) != keys(new) {
        why.push(format!(
            "flag keys changed: {:?} -> {:?}",
            keys(&old),
            keys(new)
        ));
    }
    for f in new.flags() {
        if let Some(o) = old.flag(&f.key) {
            if o != f {
                why.push(format!("flag '{}' compiles differently", f.key));
            }
        }
    }
    if old.clients() != new.clients() {
        why.push("clients changed".into());
    }
    if old.cors_origins() != new.cors_origins() {
        why.push("CORS origins changed".into());
    }
    if old.metadata() != new.metadata() {
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

/// RFC 8032, section 7.1, test 1: the secret key and its public key.
const RFC8032_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

/// The shop example built as the golden files are, in body format `format_version`.
fn shop(format_version: u32) -> vane_snapshot_builder::Built {
    golden_source("../examples/shop.yaml", "shop", format_version)
}

/// The rules file `file` (relative to the crate) built as the golden files
/// are: tenant `tenant`, version 1, created_at 1700000000.
fn golden_source(file: &str, tenant: &str, format_version: u32) -> vane_snapshot_builder::Built {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    build(
        file,
        &text,
        Format::Vane,
        &BuildOptions {
            tenant: Some(tenant.into()),
            version: 1,
            created_at: 1_700_000_000,
            format_version,
        },
    )
    .unwrap_or_else(|d| panic!("{d:?}"))
}

/// Reads a golden file, first writing `bytes` to it under `UPDATE_GOLDEN`.
fn golden(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    std::fs::read(&path)
        .unwrap_or_else(|_| panic!("tests/golden/{name} exists (UPDATE_GOLDEN=1 writes it)"))
}

/// Checks the shop example built in `format_version` against the golden
/// file `name` and its digest against `digest_name`.
fn matches_golden(format_version: u32, name: &str, digest_name: &str) {
    matches_golden_of(shop(format_version), name, digest_name);
}

/// Checks `built` against the golden file `name` and its digest against
/// `digest_name`.
fn matches_golden_of(built: vane_snapshot_builder::Built, name: &str, digest_name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = golden(name, &built.bytes);
    assert!(
        golden == built.bytes,
        "the shop snapshot ({name}) changed: {}. If intended, run with UPDATE_GOLDEN=1 and explain the change in the commit.",
        explain(&golden, &built.snapshot, &built.bytes)
    );
    // The digest is the identity: pin it in text too, so a review shows it.
    let digest_path = root.join("tests/golden").join(digest_name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&digest_path, format!("{}\n", built.snapshot.info.digest)).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(digest_path).unwrap().trim(),
        built.snapshot.info.digest
    );
}

#[test]
fn shop_example_matches_the_golden_snapshot() {
    matches_golden(1, "shop.cbor", "shop.sha256");
}

#[test]
fn shop_example_matches_the_golden_format_2_snapshot() {
    matches_golden(2, "shop.v2.cbor", "shop.v2.sha256");
}

#[test]
fn shop_example_matches_the_golden_format_3_snapshot() {
    matches_golden(3, "shop.v3.cbor", "shop.v3.sha256");
}

#[test]
fn shop_example_matches_the_golden_format_4_snapshot() {
    matches_golden(4, "shop.v4.cbor", "shop.v4.sha256");
}

/// The snapshot of `tests/golden/exposures.yaml` (exposure settings: the
/// optional sixth body item), in every format.
#[test]
fn exposure_settings_match_their_golden_snapshots() {
    for (format_version, name, digest) in [
        (1, "exposures.cbor", "exposures.sha256"),
        (2, "exposures.v2.cbor", "exposures.v2.sha256"),
        (3, "exposures.v3.cbor", "exposures.v3.sha256"),
        (4, "exposures.v4.cbor", "exposures.v4.sha256"),
    ] {
        let built = golden_source("tests/golden/exposures.yaml", "quiet", format_version);
        assert!(!built.snapshot.exposure_log().enabled);
        matches_golden_of(built, name, digest);
    }
}

/// Every golden file (formats 1 to 4, signed) still decodes, to the IR
/// the builder makes today: a reader regression cannot land.
#[test]
fn every_golden_file_decodes_to_the_current_ir() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "cbor") {
            let bytes = std::fs::read(&path).unwrap();
            let s = Snapshot::from_bytes(&bytes)
                .unwrap_or_else(|e| panic!("{} no longer decodes: {e}", path.display()));
            let source = if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("exposures")
            {
                golden_source("tests/golden/exposures.yaml", "quiet", 2)
            } else {
                shop(2)
            };
            assert_eq!(s.to_body(), source.snapshot.to_body(), "{}", path.display());
            // Opened flag by flag (the worker's path), the same body.
            let opened = Snapshot::open(&bytes).unwrap();
            assert_eq!(opened.to_body(), s.to_body(), "{} opened", path.display());
            let at = bytes
                .windows(14)
                .position(|w| w == b"format_version")
                .unwrap();
            versions.push(bytes[at + 14]);
        }
    }
    // The value of format_version (a one-byte CBOR uint) follows its key.
    versions.sort();
    assert_eq!(
        versions,
        [1, 1, 1, 2, 2, 3, 3, 4, 4],
        "golden files of every format"
    );
}

#[test]
fn signed_shop_example_matches_the_signed_golden_snapshot() {
    let built = shop(1);
    let seed: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&RFC8032_SECRET[i..i + 2], 16).unwrap())
        .collect();
    let key = ed25519_dalek::SigningKey::from_bytes(&seed.try_into().unwrap());
    let signed = Snapshot::sign(&built.bytes, &key).unwrap();
    let golden = golden("shop.signed.cbor", &signed);
    assert!(
        golden == signed,
        "the signed shop snapshot changed ({} -> {} bytes): the signed message or the signature fields changed. If intended, run with UPDATE_GOLDEN=1 and explain the change in the commit.",
        golden.len(),
        signed.len()
    );
    let s = Snapshot::from_bytes(&golden).unwrap();
    assert_eq!(s.info.signer.as_deref(), Some(RFC8032_PUBLIC));
    // Signing changes the envelope, never the body: same digest, same flags.
    assert_eq!(s.info.digest, built.snapshot.info.digest);
    assert_eq!(s.to_body(), built.snapshot.to_body());
    // The unsigned golden names no signer.
    assert_eq!(built.snapshot.info.signer, None);
}

/// Every example tenant and the flagd testkit flags encode in every body
/// format, and each decodes to exactly the IR the builder compiled (rule
/// files in `examples/` are found by listing it, so a new example is
/// covered; access files are skipped).
#[test]
fn every_example_round_trips_through_every_format() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<_> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".access.yaml"))
        .collect();
    files.sort();
    files.push(root.join("conformance/flagd/testkit-flags.json"));
    assert!(files.len() >= 3, "{files:?}");
    for path in files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let compiled =
            vane_snapshot_builder::compile(&name, &text, Format::detect(&name, text.as_bytes()))
                .unwrap_or_else(|d| panic!("{name}: {d:?}"));
        for format_version in vane_resolver::snapshot::READ_FORMAT_VERSIONS {
            let options = BuildOptions {
                tenant: Some(compiled.tenant.clone().unwrap_or_else(|| "t".into())),
                version: 1,
                created_at: 0,
                format_version,
            };
            let built = vane_snapshot_builder::encode(&name, compiled.clone(), &options)
                .unwrap_or_else(|d| panic!("{name}: {d:?}"));
            let decoded = Snapshot::from_bytes(&built.bytes).unwrap();
            assert_eq!(
                decoded.to_body(),
                compiled.body,
                "{name}, format {format_version}"
            );
        }
    }
}
