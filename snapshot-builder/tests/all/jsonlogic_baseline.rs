//! The JsonLogic baseline: every case of jsonlogic.com's shared `tests.json`
//! (as shipped in datalogic-rs 5.4.0; `conformance/jsonlogic/`)
//! compiled by the builder's JsonLogic compiler, exactly as flagd targeting
//! is compiled, and evaluated by the resolver against the case's data.

use serde_json::{Map, Value};
use vane_resolver::expr::{Data, Env};
use vane_resolver::{BucketCache, Context};
use vane_snapshot_builder::jsonlogic::{compile, compile_all, path_text, CompileErrorKind};

const TESTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../conformance/jsonlogic/tests.json"
);

/// JSON equality with numbers compared by value (`3` equals `3.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn all_278_cases_pass() {
    let text = std::fs::read_to_string(TESTS).unwrap_or_else(|e| panic!("{TESTS}: {e}"));
    let list: Vec<Value> = serde_json::from_str(&text).expect("tests.json is a JSON array");
    let no_evaluators = Map::new();
    let empty = Context::empty(0);
    let no_buckets = BucketCache::new(&empty, &[]);
    let mut section = String::new();
    let mut cases = 0;
    let mut failures = Vec::new();
    for item in &list {
        let case = match item {
            // Strings are section headers.
            Value::String(header) => {
                section = header.clone();
                continue;
            }
            Value::Object(case) => case,
            other => panic!("unexpected entry in tests.json: {other}"),
        };
        cases += 1;
        let rule = &case["rule"];
        let data = case.get("data").cloned().unwrap_or(Value::Null);
        let expected = &case["result"];
        let expr = match compile(rule, &no_evaluators) {
            Ok(expr) => expr,
            Err(e) => {
                failures.push(format!("[{section}] {rule}: does not compile: {e}"));
                continue;
            }
        };
        let env = Env {
            data: Data::Value(&data),
            now: 0,
            flag_key: "",
            buckets: &no_buckets,
            sticky: None,
            undecided: None,
        };
        let got = expr.eval(&env);
        if !same(&got, expected) {
            failures.push(format!(
                "[{section}] {rule} with data {data}: expected {expected}, got {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cases, 278, "the baseline has 278 cases");
    println!("{cases} JsonLogic baseline cases pass");
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

#[test]
fn refs_are_inlined_and_their_problems_located() {
    let evaluators: Map<String, Value> = serde_json::from_str(
        r#"{
            "is_ballmer": {"==": ["ballmer@macrosoft.com", {"var": ["email"]}]},
            "staff": {"or": [{"$ref": "is_ballmer"}, {"ends_with": [{"var": "email"}, "@corp"]}]},
            "broken": {"and": [true, {"frobnicate": [1]}]},
            "loop_a": {"!": {"$ref": "loop_b"}},
            "loop_b": {"!": {"$ref": "loop_a"}}
        }"#,
    )
    .unwrap();
    let rule = json(r#"{"if": [{"$ref": "staff"}, "on", "off"]}"#);
    let direct = json(
        r#"{"if": [{"or": [{"==": ["ballmer@macrosoft.com", {"var": ["email"]}]},
                           {"ends_with": [{"var": "email"}, "@corp"]}]}, "on", "off"]}"#,
    );
    assert_eq!(
        compile(&rule, &evaluators).unwrap(),
        compile(&direct, &Map::new()).unwrap()
    );

    let e = compile(&json(r#"{"if": [{"$ref": "nope"}, 1, 2]}"#), &evaluators).unwrap_err();
    assert!(e.is_missing_ref());
    assert_eq!(path_text(e.path()), "if[0]");
    assert_eq!(
        e.to_string(),
        "$ref names evaluator 'nope', which $evaluators does not define"
    );

    let e = compile(&json(r#"{"if": [true, {"$ref": "broken"}]}"#), &evaluators).unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::UnknownOperator);
    assert_eq!(path_text(e.path()), "if[1]");
    assert_eq!(
        e.message(),
        "in $evaluators.broken at and[1].frobnicate: unknown operator 'frobnicate'"
    );

    let e = compile(&json(r#"{"$ref": "loop_a"}"#), &evaluators).unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::RefCycle);
    assert_eq!(
        e.message(),
        "in $evaluators.loop_b at [\"!\"]: $ref cycle: loop_a → loop_b → loop_a"
    );

    let e = compile(&json(r#"{"$ref": 7}"#), &evaluators).unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::MalformedRef);
}

#[test]
fn every_problem_is_reported_and_real_errors_win_over_missing_refs() {
    let rule = json(
        r#"{"and": [{"$ref": "absent"}, {"bogus": [{"alsobogus": 1}]}, {"==": [1, {"?": 2}]}]}"#,
    );
    let errors = compile_all(&rule, &Map::new()).unwrap_err();
    let found: Vec<(CompileErrorKind, String)> = errors
        .iter()
        .map(|e| (e.kind(), path_text(e.path())))
        .collect();
    assert_eq!(
        found,
        [
            (CompileErrorKind::MissingRef, "and[0]".to_owned()),
            (CompileErrorKind::UnknownOperator, "and[1].bogus".to_owned()),
            (
                CompileErrorKind::UnknownOperator,
                "and[1].bogus[0].alsobogus".to_owned()
            ),
            (
                CompileErrorKind::UnknownOperator,
                r#"and[2]["=="][1]["?"]"#.to_owned()
            ),
        ]
    );
    let first = compile(&rule, &Map::new()).unwrap_err();
    assert_eq!(first.kind(), CompileErrorKind::UnknownOperator);
    assert_eq!(path_text(first.path()), "and[1].bogus");
}

#[test]
fn depth_and_size_are_bounded() {
    // 40 nested `!` in JSON are 40 levels: fine. 70 are too deep.
    let nested = |n: usize| json(&format!("{}true{}", "{\"!\":".repeat(n), "}".repeat(n)));
    assert!(compile(&nested(40), &Map::new()).is_ok());
    let e = compile(&nested(70), &Map::new()).unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::TooDeep);
    // Deep literal data counts too.
    let deep_data = json(&format!(
        "{{\"==\": [1, {}1{}]}}",
        "[".repeat(70),
        "]".repeat(70)
    ));
    assert_eq!(
        compile(&deep_data, &Map::new()).unwrap_err().kind(),
        CompileErrorKind::TooDeep
    );
    // Evaluators that each use the previous one twice double at every step.
    let mut evaluators = Map::new();
    evaluators.insert("e0".to_owned(), json(r#"{"var": "x"}"#));
    for i in 1..40 {
        let prev = format!("e{}", i - 1);
        evaluators.insert(
            format!("e{i}"),
            json(&format!(
                r#"{{"+": [{{"$ref": "{prev}"}}, {{"$ref": "{prev}"}}]}}"#
            )),
        );
    }
    let e = compile(&json(r#"{"$ref": "e39"}"#), &evaluators).unwrap_err();
    assert_eq!(e.kind(), CompileErrorKind::TooLarge);
}

/// Literal data and `in` sets are copied with every `$ref` to them, so each
/// of their values counts: one 2,000-member literal used 60 times is 120,000
/// nodes. (Counted as one node each, a 1 MB literal used 1,000 times made
/// the builder copy a gigabyte.)
#[test]
fn literal_data_and_sets_count_toward_the_size_limit() {
    let members: Vec<String> = (0..2_000).map(|i| format!("\"k{i}\": {i}")).collect();
    let names: Vec<String> = (0..2_000).map(|i| format!("\"n{i}\"")).collect();
    let mut evaluators = Map::new();
    evaluators.insert(
        "object".to_owned(),
        json(&format!("{{{}}}", members.join(","))),
    );
    evaluators.insert(
        "allowed".to_owned(),
        json(&format!(
            r#"{{"in": [{{"var": "id"}}, [{}]]}}"#,
            names.join(",")
        )),
    );
    let uses = |what: &str, n: usize| {
        let one = format!(r#"{{"==": [{{"$ref": "{what}"}}, 1]}}"#);
        json(&format!(r#"{{"or": [{}]}}"#, vec![one; n].join(",")))
    };
    for what in ["object", "allowed"] {
        assert!(compile(&uses(what, 40), &evaluators).is_ok(), "{what} × 40");
        let e = compile(&uses(what, 60), &evaluators).unwrap_err();
        assert_eq!(e.kind(), CompileErrorKind::TooLarge, "{what} × 60");
        assert!(
            e.message()
                .ends_with("the condition (with its $refs expanded) is larger than 100000 nodes"),
            "{}",
            e.message()
        );
    }
}

#[test]
fn precomputation_shapes_the_ir() {
    use vane_resolver::expr::{Expr, Op};
    let c = |text: &str| compile(&json(text), &Map::new()).unwrap();
    assert_eq!(
        c(r#"{"in": [{"var": "c"}, ["DE", "AT", "DE", "CH"]]}"#),
        Expr::InSet(
            Box::new(Expr::Var(vec!["c".to_owned()])),
            vane_resolver::expr::StrSet::new(["AT", "CH", "DE"])
        )
    );
    // Mixed members keep the general operator (strict equality decides at run time).
    assert!(matches!(c(r#"{"in": [1, ["a", 1]]}"#), Expr::Op(Op::In, _)));
    assert_eq!(c(r#"{"var": "$flagd.flagKey"}"#), Expr::FlagKey);
    assert_eq!(c(r#"{"var": ["$flagd.timestamp", 0]}"#), Expr::Timestamp);
    assert_eq!(
        c(r#"{"var": "$flagd"}"#),
        Expr::VarDyn(vec![Expr::Lit(Value::from("$flagd"))])
    );
    assert_eq!(
        c(r#"{"var": ["a.b", 1]}"#),
        Expr::VarOr(
            vec!["a".to_owned(), "b".to_owned()],
            Box::new(Expr::Lit(Value::from(1)))
        )
    );
    assert_eq!(c(r#"{"var": 2}"#), Expr::Var(vec!["2".to_owned()]));
    assert_eq!(c(r#"{"?:": [1, 2, 3]}"#), c(r#"{"if": [1, 2, 3]}"#));
    assert_eq!(c(r#"["a", 1]"#), Expr::Lit(json(r#"["a", 1]"#)));
    assert!(matches!(c(r#"["a", {"var": "x"}]"#), Expr::Array(_)));
    // Objects with other than one key are data.
    assert_eq!(
        c(r#"{"a": 1, "b": 2}"#),
        Expr::Lit(json(r#"{"a": 1, "b": 2}"#))
    );
}
