//! `docs/snapshot-format.md` is normative: its worked examples must be
//! exactly what the builder writes for the example sources they show.

use std::path::Path;

use vane_snapshot_builder::{build, BuildOptions, Format};

/// The first fenced block after `marker` in the doc.
fn block_after<'d>(doc: &'d str, marker: &str) -> &'d str {
    let start = doc
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is in the doc"));
    let rest = &doc[start..];
    let open = rest.find("```").unwrap();
    let body_start = open + rest[open..].find('\n').unwrap() + 1;
    let close = rest[body_start..].find("```").unwrap();
    &rest[body_start..body_start + close]
}

/// Builds the doc's example source (the block after `source_marker`) in
/// body format `format_version` and checks it against the bytes after
/// `bytes_marker` and the digest line after them.
fn check_example(source_marker: &str, format_version: u32, bytes_marker: &str, digest_label: &str) {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/snapshot-format.md"),
    )
    .unwrap();
    let source = block_after(&doc, source_marker);
    let hex: String = block_after(&doc, bytes_marker)
        .lines()
        .map(|l| l.split('#').next().unwrap().replace(' ', ""))
        .collect();
    let expected: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let built = build(
        "tiny.json",
        source,
        Format::Flagd,
        &BuildOptions {
            tenant: Some("demo".into()),
            version: 3,
            created_at: 1_700_000_000,
            format_version,
        },
    )
    .unwrap();
    assert_eq!(
        vane_resolver::snapshot::hex(&built.bytes),
        vane_resolver::snapshot::hex(&expected),
        "docs/snapshot-format.md's worked example ({bytes_marker}) is out of date"
    );
    assert!(doc.contains(&format!("{digest_label}: `{}`", built.snapshot.info.digest)));
}

/// The marker of the source of the examples of formats 1 to 3.
const SOURCE: &str = "<!-- worked-example-source -->";

#[test]
fn worked_example_bytes_are_what_the_builder_writes() {
    check_example(SOURCE, 1, "<!-- worked-example-bytes -->", "Digest");
}

#[test]
fn format_2_worked_example_bytes_are_what_the_builder_writes() {
    check_example(
        SOURCE,
        2,
        "<!-- worked-example-bytes-2 -->",
        "Format 2 digest",
    );
}

#[test]
fn format_3_worked_example_bytes_are_what_the_builder_writes() {
    check_example(
        SOURCE,
        3,
        "<!-- worked-example-bytes-3 -->",
        "Format 3 digest",
    );
}

#[test]
fn format_4_worked_example_bytes_are_what_the_builder_writes() {
    check_example(
        "<!-- worked-example-source-4 -->",
        4,
        "<!-- worked-example-bytes-4 -->",
        "Format 4 digest",
    );
}
