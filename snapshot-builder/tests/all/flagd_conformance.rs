//! The flagd evaluator suite, natively: builds `testkit-flags.json` with the
//! builder and checks all 125 vectors (the checking is shared with the
//! browser runner, `tests/browser.rs`, in `tests/all/flagd_vectors.rs`).

use vane_resolver::Context;
use vane_snapshot_builder::{build, BuildOptions, Format};

use crate::flagd_vectors::{failures, MISSING_EVALUATOR_FLAG, NOW, TENANT, TESTKIT_FLAGS, VECTORS};

#[test]
fn all_flagd_evaluator_vectors_pass() {
    let options = BuildOptions {
        tenant: Some(TENANT.to_owned()),
        version: 1,
        created_at: 0,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    let built =
        build("testkit-flags.json", TESTKIT_FLAGS, Format::Flagd, &options).unwrap_or_else(|d| {
            let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
            panic!("testkit-flags.json does not build:\n{}", lines.join("\n"))
        });
    // flagd accepts the file; the one $ref to a missing evaluator is a warning.
    assert!(
        built.warnings.iter().any(|w| {
            w.flag.as_deref() == Some(MISSING_EVALUATOR_FLAG)
                && w.message.contains("nonexistent_evaluator")
        }),
        "expected a warning for the missing evaluator: {:#?}",
        built.warnings
    );
    let snapshot = built.snapshot;
    let failures = failures(|flag, context| {
        let context = Context::from_value(context.clone(), NOW).map_err(|e| e.to_string())?;
        Ok(snapshot.evaluate(flag, &context).to_json())
    });
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    eprintln!(
        "flagd vectors: {} passed, {} failed",
        VECTORS - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {VECTORS} vectors failed",
        failures.len()
    );
}
