//! The flagd evaluator suite (`shared/conformance/flagd`, contract in its
//! README): builds `testkit-flags.json` with the builder and checks all 125
//! vectors, playing the part of an OpenFeature client.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value};
use vane_resolver::{Context, EvaluationResult, Snapshot};
use vane_snapshot_builder::{build, BuildOptions, Format};

/// Number of vectors in `evaluator-vectors.json` (see the conformance README).
const VECTORS: usize = 125;

/// Evaluation time for every vector, Unix seconds (no vector depends on it).
const NOW: i64 = 1_700_000_000;

#[derive(Debug, Deserialize)]
struct Vector {
    id: String,
    flag: String,
    #[serde(rename = "type")]
    kind: String,
    fallback: Value,
    context: Value,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
struct Expect {
    value: Option<Value>,
    reason: Option<String>,
    error_code: Option<String>,
    metadata: Option<Map<String, Value>>,
}

/// What an OpenFeature client hands its caller for one evaluation.
#[derive(Debug)]
struct ClientResult {
    value: Value,
    reason: String,
    error_code: Option<String>,
    metadata: Map<String, Value>,
}

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/flagd")
}

fn read(name: &str) -> String {
    let path = conformance_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// True when `value` has the JSON type the caller asked for: an `integer` is
/// a whole number, a `float` any number.
fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "float" => value.is_number(),
        "object" => value.is_object(),
        other => panic!("unknown vector type '{other}'"),
    }
}

/// The client's view of a resolver result: the caller's fallback when there
/// is no value, an error, or a value of another type than asked.
fn client_view(result: &EvaluationResult<'_>, kind: &str, fallback: &Value) -> ClientResult {
    let metadata = result.metadata.cloned().unwrap_or_default();
    let (value, reason, error_code) = match (result.error_code, result.value) {
        (Some(code), _) => (
            fallback.clone(),
            "ERROR".to_owned(),
            Some(code.as_str().to_owned()),
        ),
        (None, None) => (fallback.clone(), result.reason.as_str().to_owned(), None),
        (None, Some(v)) if has_type(v, kind) => {
            (v.clone(), result.reason.as_str().to_owned(), None)
        }
        (None, Some(_)) => (
            fallback.clone(),
            "ERROR".to_owned(),
            Some("TYPE_MISMATCH".to_owned()),
        ),
    };
    ClientResult {
        value,
        reason,
        error_code,
        metadata,
    }
}

/// Numbers compare by value (`0` equals `0.0`, as a client's typed getter
/// sees them); everything else structurally.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Every mismatch between a vector's expectations and the client's result.
fn check(v: &Vector, got: &ClientResult) -> Vec<String> {
    let mut wrong = Vec::new();
    if let Some(value) = &v.expect.value {
        if !same_value(value, &got.value) {
            wrong.push(format!("value {} (expected {value})", got.value));
        }
    }
    if let Some(reason) = &v.expect.reason {
        if reason != &got.reason {
            wrong.push(format!("reason {} (expected {reason})", got.reason));
        }
    }
    if let Some(code) = &v.expect.error_code {
        if Some(code) != got.error_code.as_ref() {
            wrong.push(format!("error code {:?} (expected {code})", got.error_code));
        }
    }
    if let Some(metadata) = &v.expect.metadata {
        if metadata != &got.metadata {
            wrong.push(format!(
                "metadata {} (expected {})",
                Value::Object(got.metadata.clone()),
                Value::Object(metadata.clone())
            ));
        }
    }
    wrong
}

fn testkit_snapshot() -> Snapshot {
    let options = BuildOptions {
        tenant: Some("flagd-testkit".to_owned()),
        version: 1,
        created_at: 0,
    };
    let built = build(
        "testkit-flags.json",
        &read("testkit-flags.json"),
        Format::Flagd,
        &options,
    )
    .unwrap_or_else(|d| {
        let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
        panic!("testkit-flags.json does not build:\n{}", lines.join("\n"))
    });
    // flagd accepts the file; the one $ref to a missing evaluator is a warning.
    assert!(
        built.warnings.iter().any(|w| {
            w.flag.as_deref() == Some("ref-to-nonexistent-evaluator-flag")
                && w.message.contains("nonexistent_evaluator")
        }),
        "expected a warning for the missing evaluator: {:#?}",
        built.warnings
    );
    built.snapshot
}

#[test]
fn all_flagd_evaluator_vectors_pass() {
    let vectors: Vec<Vector> =
        serde_json::from_str(&read("evaluator-vectors.json")).expect("evaluator-vectors.json");
    assert_eq!(vectors.len(), VECTORS, "vector count");
    let snapshot = testkit_snapshot();
    let mut failures = Vec::new();
    for v in &vectors {
        let context = Context::from_value(v.context.clone(), NOW)
            .unwrap_or_else(|e| panic!("{}: context refused: {e}", v.id));
        let result = snapshot.evaluate(&v.flag, &context);
        let got = client_view(&result, &v.kind, &v.fallback);
        let wrong = check(v, &got);
        if !wrong.is_empty() {
            failures.push(format!(
                "{} ({} as {}): {}; resolver said {}",
                v.id,
                v.flag,
                v.kind,
                wrong.join(", "),
                result.to_json()
            ));
        }
    }
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    eprintln!(
        "flagd vectors: {} passed, {} failed",
        vectors.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {VECTORS} vectors failed",
        failures.len()
    );
}
