//! The Confidence front end against Confidence's own resolver specification
//! (`conformance/confidence/`): all 111 cases through the library and
//! through `vane resolve`, each agreeing with `expectedResult.general` (the
//! Java reference resolver); the real state in both encodings; hash vectors.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use vane_resolver::assign::Materializations;
use vane_resolver::confidence::{Answer, ResolveRequest};
use vane_resolver::Snapshot;
use vane_snapshot_builder::confidence::{compile, Options};
use vane_snapshot_builder::{encode, BuildOptions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn build(path: &str, options: &Options) -> (Vec<u8>, Snapshot) {
    let compiled = compile(path, &read(path), options).unwrap_or_else(|d| panic!("{d:#?}"));
    let options = BuildOptions {
        tenant: None,
        version: 1,
        created_at: 0,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    let built = encode(path, compiled, &options).unwrap_or_else(|d| panic!("{d:#?}"));
    (built.bytes, built.snapshot)
}

const SPEC_STATE: &str = "conformance/confidence/state.json";

fn cases() -> Vec<Value> {
    serde_json::from_slice(&read("conformance/confidence/resolver-spec.json")).unwrap()
}

/// Differences between a resolved flag and the expected one; fields the
/// case leaves out are not checked; `assignmentId` is the library's.
fn differences(expected: &Value, actual: &Value, assignment_id: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for field in ["reason", "variant", "shouldApply", "assignmentOrigin"] {
        if let Some(want) = expected.get(field) {
            if actual.get(field) != Some(want) {
                out.push(format!("{field}: want {want}, got {:?}", actual.get(field)));
            }
        }
    }
    let want = expected.get("value").unwrap_or(&Value::Null);
    let got = actual.get("value").unwrap_or(&Value::Null);
    if want != got {
        out.push(format!("value: want {want}, got {got}"));
    }
    if let Some(want) = expected.get("assignmentId") {
        if assignment_id != want.as_str() {
            out.push(format!("assignmentId: want {want}, got {assignment_id:?}"));
        }
    }
    out
}

/// Compares one case's resolved flags (in any order) with the expectation.
fn check_case(case: &Value, flags: &[Value], ids: &[Option<String>]) -> Result<(), String> {
    let expected = case["expectedResult"]["general"]["resolvedFlags"]
        .as_array()
        .unwrap();
    if expected.len() != flags.len() {
        return Err(format!(
            "{} flags, expected {}: {flags:?}",
            flags.len(),
            expected.len()
        ));
    }
    let mut problems = Vec::new();
    for want in expected {
        let name = &want["flag"];
        let Some(i) = flags.iter().position(|f| &f["flag"] == name) else {
            problems.push(format!("{name} missing"));
            continue;
        };
        for d in differences(want, &flags[i], ids[i].as_deref()) {
            problems.push(format!("{name}: {d}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn materializations(case: &Value) -> Option<Materializations> {
    case.get("materializations")
        .map(|m| serde_json::from_value(m.clone()).unwrap())
}

#[test]
fn all_111_spec_cases_agree_with_the_reference_resolver_through_the_library() {
    let (_, snapshot) = build(SPEC_STATE, &Options::default());
    let cases = cases();
    assert_eq!(cases.len(), 111);
    let mut failures = Vec::new();
    for case in &cases {
        let request: ResolveRequest =
            serde_json::from_value(case["resolveRequest"].clone()).unwrap();
        let client = snapshot
            .client_for_secret(&request.client_secret)
            .expect("the case's secret is a client");
        let sticky = materializations(case);
        let resolution = snapshot
            .resolve_confidence(client, &request, sticky.as_ref(), 1_700_000_000)
            .unwrap();
        let flags: Vec<Value> = resolution.flags.iter().map(|f| f.to_json()).collect();
        let ids: Vec<Option<String>> = resolution
            .flags
            .iter()
            .map(|f| match &f.answer {
                Answer::Assigned(a) => a.assigned_by.as_ref().map(|b| b.assignment_id.to_owned()),
                Answer::Evaluated(..) => None,
            })
            .collect();
        if let Err(e) = check_case(case, &flags, &ids) {
            failures.push(format!("{}: {e}", case["name"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{}/111 pass; failing:\n{}",
        111 - failures.len(),
        failures.join("\n")
    );
}

#[test]
fn all_111_spec_cases_agree_through_vane_resolve() {
    let dir = std::env::temp_dir().join(format!("vane-confidence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let snapshot = dir.join("spec.cbor");
    let out = Command::new(env!("CARGO_BIN_EXE_vane"))
        .current_dir(repo())
        .args(["build", SPEC_STATE, "-o"])
        .arg(&snapshot)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut failures = Vec::new();
    for case in cases() {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vane"));
        cmd.arg("resolve")
            .arg(&snapshot)
            .args(["--now", "1700000000", "--request"])
            .arg(case["resolveRequest"].to_string());
        if let Some(m) = case.get("materializations") {
            cmd.arg("--materializations").arg(m.to_string());
        }
        let out = cmd.output().unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{}: exit {}: {}",
                case["name"],
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let body: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(body["resolveId"], "");
        let flags = body["resolvedFlags"].as_array().unwrap().clone();
        // The body carries no assignment id; the library test checks those.
        let ids = flags
            .iter()
            .map(|f| {
                let want = case["expectedResult"]["general"]["resolvedFlags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|w| w["flag"] == f["flag"]);
                want.and_then(|w| w.get("assignmentId"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect::<Vec<_>>();
        if let Err(e) = check_case(&case, &flags, &ids) {
            failures.push(format!("{}: {e}", case["name"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{}/111 pass; failing:\n{}",
        111 - failures.len(),
        failures.join("\n")
    );
}

fn resolve_one(snapshot: &Snapshot, secret: &str, flag: &str, context: Value) -> Value {
    let request = ResolveRequest {
        flags: vec![flag.to_owned()],
        evaluation_context: context,
        client_secret: secret.to_owned(),
        ..ResolveRequest::default()
    };
    let client = snapshot.client_for_secret(secret).expect("a client");
    let r = snapshot
        .resolve_confidence(client, &request, None, 1_700_000_000)
        .unwrap();
    assert_eq!(r.flags.len(), 1, "{flag}");
    r.flags[0].to_json()
}

#[test]
fn bloom_filter_members_match() {
    // Members computed independently (the Python `mmh3` package and Guava's
    // MURMUR128_MITZ_64 probing over the spec state's bf-seg filter).
    let (_, snapshot) = build(SPEC_STATE, &Options::default());
    let member = resolve_one(
        &snapshot,
        "test-secret",
        "flags/bloom-filter-flag",
        json!({"targeting_key": "user1"}),
    );
    assert_eq!(member["reason"], "RESOLVE_REASON_MATCH");
    let other = resolve_one(
        &snapshot,
        "test-secret",
        "flags/bloom-filter-flag",
        json!({"targeting_key": "user2"}),
    );
    assert_eq!(other["reason"], "RESOLVE_REASON_NO_SEGMENT_MATCH");
}

const REAL_PB: &str = "conformance/confidence/real-state/resolver_state.pb";
const REAL_JSON: &str = "conformance/confidence/real-state/resolver_state.json";
const REAL_SECRET: &str = "mkjJruAATQWjeY7foFIWfVAcBWnci2YF";

fn demo() -> Options {
    Options {
        account: Some("confidence-demo-june".to_owned()),
        state_key: None,
    }
}

#[test]
fn both_real_state_encodings_build_the_same_snapshot() {
    let (pb, from_pb) = build(REAL_PB, &demo());
    let (json, from_json) = build(REAL_JSON, &demo());
    assert_eq!(from_pb.info.digest, from_json.info.digest);
    assert_eq!(pb, json);
    assert_eq!(from_pb.info.tenant, "confidence-demo-june");
    assert_eq!(from_pb.flag_count(), 3);
    // No secret in the snapshot, only its digest.
    let secret = REAL_SECRET.as_bytes();
    assert!(!pb.windows(secret.len()).any(|w| w == secret));
    // The two allocations are random halves of 1,000,000 buckets (~189,000
    // runs each: 1.7 MB as ranges); their entropy is ~124 KB each, so they
    // are bitmaps and the snapshot is about the protobuf state's size.
    let protobuf = read(REAL_PB).len();
    assert!(
        pb.len() < protobuf * 105 / 100,
        "{} vs {protobuf}",
        pb.len()
    );
}

#[test]
fn the_real_state_resolves_like_spotifys_resolver() {
    let (_, snapshot) = build(REAL_PB, &demo());
    let flag = resolve_one(
        &snapshot,
        REAL_SECRET,
        "flags/tutorial-feature",
        json!({"visitor_id": "tutorial_visitor"}),
    );
    assert_eq!(
        flag["variant"],
        "flags/tutorial-feature/variants/exciting-welcome"
    );
    assert_eq!(
        flag["assignmentOrigin"],
        "flags/tutorial-feature/rules/tutorial-visitor-override"
    );
    assert_eq!(flag["shouldApply"], true);
    assert_eq!(
        flag["flagSchema"]["schema"]["title"],
        json!({"stringSchema": {}})
    );
}

#[test]
fn an_encrypted_state_needs_its_key() {
    use aes_gcm::aead::{Aead, KeyInit};
    let key = [7u8; 32];
    let nonce = [9u8; 12];
    let cipher = aes_gcm::Aes256Gcm::new((&key).into());
    let sealed = cipher
        .encrypt(aes_gcm::Nonce::from_slice(&nonce), &read(REAL_PB)[..])
        .unwrap();
    let mut file = nonce.to_vec();
    file.extend(sealed);
    let options = Options {
        state_key: Some(key),
        ..demo()
    };
    let compiled = compile("state.enc", &file, &options).unwrap();
    let plain = compile(REAL_PB, &read(REAL_PB), &demo()).unwrap();
    assert_eq!(compiled.body, plain.body);
    let wrong = Options {
        state_key: Some([8u8; 32]),
        ..demo()
    };
    let err = compile("state.enc", &file, &wrong).unwrap_err();
    assert!(err[0].message.contains("does not decrypt"), "{err:?}");
}

#[test]
fn problems_are_located() {
    let state = json!({
        "account": {"name": "accounts/a"},
        "flags": {"flags/f": {"name": "flags/f", "state": "ACTIVE", "variants": [{"name": "on", "value": {}}],
            "rules": [{"name": "flags/f/rules/r", "segment": "segments/s", "enabled": true,
                "assignmentSpec": {"bucketCount": 10, "assignments": [
                    {"assignmentId": "x", "variant": {"variant": "off"}, "bucketRanges": [{"lower": 0, "upper": 11}]}]}}]}},
        "segments": {"segments/s": {"name": "segments/s"}}
    });
    let errors = compile("s.json", state.to_string().as_bytes(), &Options::default()).unwrap_err();
    let messages: Vec<_> = errors
        .iter()
        .map(|d| (d.flag.clone(), d.path.clone(), d.message.clone()))
        .collect();
    assert!(
        messages.contains(&(
            Some("flags/f".into()),
            "flags.flags/f.rules[0].assignmentSpec.assignments[0].variant".into(),
            "assignment 'x' names variant 'off', which flag 'flags/f' does not have".into()
        )),
        "{messages:#?}"
    );
    let bad_type = json!({"account": {"name": "accounts/a"}, "flags": {"flags/f": {"rules": [{"enabled": "yes"}]}}});
    let errors = compile(
        "t.json",
        bad_type.to_string().as_bytes(),
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        errors[0].path, "flags.flags/f.rules[0].enabled",
        "{errors:?}"
    );
    let no_account = compile(REAL_PB, &read(REAL_PB), &Options::default()).unwrap_err();
    assert!(
        no_account[0].message.contains("--account"),
        "{no_account:?}"
    );
}

#[test]
fn sticky_reads_and_writes_are_reported() {
    let (_, snapshot) = build(SPEC_STATE, &Options::default());
    let request = |flags: &[&str]| ResolveRequest {
        flags: flags.iter().map(|f| f.to_string()).collect(),
        evaluation_context: json!({"targeting_key": "user1", "country": "SE"}),
        client_secret: "test-secret".to_owned(),
        ..ResolveRequest::default()
    };
    let client = snapshot.client_for_secret("test-secret").unwrap();
    // What a store must be read for: rule reads and materialized segments
    // without a bloom filter, with the rule's unit.
    let reads = snapshot.confidence_sticky_reads(
        client,
        &request(&[
            "flags/mat-read-flag",
            "flags/mat-criterion-flag",
            "flags/bloom-filter-flag",
        ]),
    );
    assert_eq!(
        reads,
        [
            ("user1".to_owned(), "materializations/mat-seg".to_owned()),
            ("user1".to_owned(), "materializations/mat1".to_owned()),
        ]
    );
    // A new assignment is written to the rule's materialization.
    let req = request(&["flags/mat-write-flag", "flags/mat-read-flag"]);
    let r = snapshot
        .resolve_confidence(client, &req, None, 1_700_000_000)
        .unwrap();
    let writes: Vec<_> = r
        .writes
        .iter()
        .map(|w| (w.unit.as_str(), w.materialization.as_str(), w.rule.as_str()))
        .collect();
    assert_eq!(
        writes,
        [
            (
                "user1",
                "materializations/mat1",
                "flags/mat-read-flag/rules/rule1"
            ),
            (
                "user1",
                "materializations/mat-write",
                "flags/mat-write-flag/rules/rule1"
            ),
        ]
    );
    assert_eq!(r.writes[1].variant, "on");
}

/// Variant values as `vane resolve` prints them (the worker answers the
/// same text): proto3 JSON doubles in ECMAScript's spelling, whole values
/// within ±2^53 as integers, for a state read from JSON text.
#[test]
fn vane_resolve_spells_numbers_as_proto3_json() {
    let mut state: Value = serde_json::from_slice(&read(SPEC_STATE)).unwrap();
    let flag = state["flags"]["flags/simple-flag"].take();
    state["flags"] = json!({"flags/simple-flag": flag});
    state["flags"]["flags/simple-flag"]["variants"][0]["value"] = json!("NUMBERS");
    // Raw text, so that 2^53 + 1 reaches the reader as written.
    let numbers = r#"{"a": 1e21, "b": 1.5e300, "c": 1e-7, "d": -0.0, "e": 9007199254740993,
        "f": 1152921504606846976, "g": 1e20, "h": 0.000001, "i": -2.5, "j": 3.0}"#;
    let text = state.to_string().replace("\"NUMBERS\"", numbers);
    let dir = std::env::temp_dir().join(format!("vane-numbers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    std::fs::write(&file, text).unwrap();
    let request = json!({"clientSecret": "test-secret", "flags": ["flags/simple-flag"],
        "evaluationContext": {"targeting_key": "user1", "country": "SE"}});
    let out = Command::new(env!("CARGO_BIN_EXE_vane"))
        .arg("resolve")
        .arg(&file)
        .args(["--format", "confidence", "--request"])
        .arg(request.to_string())
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // The variant's value as JSON.stringify writes the same doubles (2^53 + 1
    // is a double: 2^53; 2^60 keeps its 16 shortest digits).
    let want = r#""value":{"a":1e+21,"b":1.5e+300,"c":1e-7,"d":0,"e":9007199254740992,"f":1152921504606847000,"g":100000000000000000000,"h":0.000001,"i":-2.5,"j":3}"#;
    assert!(stdout.contains(want), "{stdout}");
}
