//! The flagd evaluator suite (`conformance/flagd`, contract in its
//! README), shared by the native runner (`tests/all/flagd_conformance.rs`) and
//! the browser runner (`tests/browser.rs`), so both hold the resolver to the
//! same expectations. The files are embedded at compile time (read in
//! place, not copied), which is how they reach the browser.
//!
//! A runner plays the part of an OpenFeature client: it resolves each
//! vector's flag to an OFREP result object, and [`check`] applies the
//! caller's fallback where a client would before comparing.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The flag file, `testkit-flags.json`.
pub const TESTKIT_FLAGS: &str = include_str!("../../../conformance/flagd/testkit-flags.json");

const EVALUATOR_VECTORS: &str = include_str!("../../../conformance/flagd/evaluator-vectors.json");

/// Number of vectors in `evaluator-vectors.json` (see the conformance README).
pub const VECTORS: usize = 125;

/// Evaluation time for every vector, Unix seconds (no vector depends on it).
pub const NOW: i64 = 1_700_000_000;

/// Tenant the runners build the testkit snapshot for.
pub const TENANT: &str = "flagd-testkit";

/// The one flag whose targeting `$ref`s a missing evaluator: flagd accepts
/// the file, so the builder warns (naming `nonexistent_evaluator`) and the
/// flag evaluates to `PARSE_ERROR`.
pub const MISSING_EVALUATOR_FLAG: &str = "ref-to-nonexistent-evaluator-flag";

/// One vector.
#[derive(Debug, Deserialize)]
pub struct Vector {
    /// Scenario id, e.g. `semver/0/0/2`.
    pub id: String,
    /// Flag key.
    pub flag: String,
    /// What the caller asks for: `boolean`, `string`, `integer`, `float`, `object`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The caller's code default.
    pub fallback: Value,
    /// The evaluation context.
    pub context: Value,
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

/// Every vector of `evaluator-vectors.json`.
pub fn vectors() -> Vec<Vector> {
    let vectors: Vec<Vector> =
        serde_json::from_str(EVALUATOR_VECTORS).expect("evaluator-vectors.json");
    assert_eq!(vectors.len(), VECTORS, "vector count");
    vectors
}

/// Runs every vector through `resolve` (flag key, context → the OFREP
/// result object, or a message when the resolver refused the context) and
/// returns one line per vector that failed, empty when all pass.
pub fn failures(mut resolve: impl FnMut(&str, &Value) -> Result<Value, String>) -> Vec<String> {
    let mut failures = Vec::new();
    for v in vectors() {
        let wrong = match resolve(&v.flag, &v.context) {
            Ok(result) => {
                check(&v, &result).map(|w| format!("{}; resolver said {result}", w.join(", ")))
            }
            Err(refused) => Some(format!("context refused: {refused}")),
        };
        if let Some(wrong) = wrong {
            failures.push(format!("{} ({} as {}): {wrong}", v.id, v.flag, v.kind));
        }
    }
    failures
}

/// Every mismatch between a vector's expectations and what a client makes
/// of the OFREP result; `None` when there is none.
fn check(v: &Vector, result: &Value) -> Option<Vec<String>> {
    let got = client_view(result, &v.kind, &v.fallback);
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
    (!wrong.is_empty()).then_some(wrong)
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

/// The client's view of an OFREP result: the caller's fallback when there
/// is no value, an error, or a value of another type than asked.
fn client_view(result: &Value, kind: &str, fallback: &Value) -> ClientResult {
    let metadata = result["metadata"].as_object().cloned().unwrap_or_default();
    let reason = result["reason"].as_str().unwrap_or("ERROR").to_owned();
    let (value, reason, error_code) = match (result["errorCode"].as_str(), result.get("value")) {
        (Some(code), _) => (fallback.clone(), "ERROR".to_owned(), Some(code.to_owned())),
        (None, None) => (fallback.clone(), reason, None),
        (None, Some(v)) if has_type(v, kind) => (v.clone(), reason, None),
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
