//! flagd targeting lowered to typed rules (`flagd/lower.rs`) evaluates
//! exactly like the same targeting left as JsonLogic: for the flagd testkit
//! flags, the media example and a file with every lowered shape (and shapes
//! next to them that must stay JsonLogic), on random contexts, every result
//! (value, variant, reason, error code and details) is the same.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use vane_resolver::expr::typed::SemVer;
use vane_resolver::expr::{Expr, Test};
use vane_resolver::semver::SemVerOp;
use vane_resolver::{Context, Snapshot, Targeting};
use vane_snapshot_builder::{build, jsonlogic, BuildOptions, Format};

/// Every shape the lowering handles, and near misses it must leave alone.
fn shapes() -> Value {
    let on_off = json!({"on": "on", "off": "off", "mid": "mid"});
    let flag = |targeting: Value| json!({"state": "ENABLED", "variants": on_off, "defaultVariant": "off", "targeting": targeting});
    json!({
        "flags": {
            "suffix": flag(json!({"if": [{"ends_with": [{"var": "email"}, "@shop.example"]}, "on", null]})),
            "prefix-else": flag(json!({"if": [{"starts_with": [{"var": "id"}, "u-"]}, "on", "mid"]})),
            "chain": flag(json!({"if": [
                {"in": [{"var": "country"}, ["DE", "FR", "NL"]]}, "on",
                {"and": [{"!": {"ends_with": [{"var": "email"}, ".test"]}}, {"!!": [{"var": "beta"}]}]}, "mid",
                {"or": [{"starts_with": [{"var": "user.tier"}, "gold"]}, {"==": [{"var": "age"}, 3]}]}, "off"
            ]})),
            "nested-else": flag(json!({"if": [{"ends_with": [{"var": "email"}, "@a.example"]}, "on",
                {"if": [{"in": [{"var": "tags.0"}, ["x", "y"]]}, "mid", null]}]})),
            "split": flag(json!({"fractional": [["on", 50], ["off", 30], ["mid", 20]]})),
            "split-by": flag(json!({"fractional": [{"var": "email"}, ["on", 1], ["off"], ["mid", -4]]})),
            "split-literal": flag(json!({"fractional": ["bucket-me", ["on", 10], ["off", 10], ["mid", 10]]})),
            "split-in-if": flag(json!({"if": [{"ends_with": [{"var": "email"}, "@shop.example"]},
                {"fractional": [["on", 1], ["mid", 1]]}, "off"]})),
            "bools": {"state": "ENABLED", "variants": {"true": 1, "false": 0}, "defaultVariant": "false",
                "targeting": {"if": [{"starts_with": [{"var": "id"}, "u-"]}, true, false]}},
            "numbers": {"state": "ENABLED", "variants": {"1": "one", "2.5": "two and a half"},
                "targeting": {"if": [{"in": [{"var": "country"}, ["DE"]]}, 1, 2.5]}},
            "no-default": {"state": "ENABLED", "variants": on_off,
                "targeting": {"fractional": [["on", 1], ["off", 1]]}},
            "odd-index-path": flag(json!({"if": [{"ends_with": [{"var": "tags.01"}, "x"]}, "on", null]})),
            "null-then": flag(json!({"if": [{"ends_with": [{"var": "email"}, ".test"]}, null, "on"]})),
            "computed-result": flag(json!({"if": [{"ends_with": [{"var": "email"}, ".test"]}, {"var": "id"}, "on"]})),
            "not-a-variant": flag(json!({"if": [{"ends_with": [{"var": "email"}, ".test"]}, "nope", "on"]})),
            "split-cat": flag(json!({"fractional": [{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, ["on", 1], ["off", 1]]})),
            "split-bad-weight": flag(json!({"fractional": [["on", 1.5], ["off", 1]]})),
            "semver": flag(json!({"if": [{"sem_ver": [{"var": "version"}, ">=", "1.2.0"]}, "on", null]})),
            "semver-swapped": flag(json!({"if": [{"sem_ver": ["2.0.0-rc.1", "<", {"var": "version"}]}, "on",
                {"sem_ver": [{"var": "version"}, "^", "v1.0"]}, "mid",
                {"sem_ver": [2, "~", {"var": "version"}]}, "off"]})),
            "semver-ne": flag(json!({"if": [{"!": {"sem_ver": [{"var": "version"}, "!=", 1.10]}}, "on", null]})),
            "semver-bad-op": flag(json!({"if": [{"sem_ver": [{"var": "version"}, "==", "1.0.0"]}, "on", null]})),
            "semver-bad-version": flag(json!({"if": [{"sem_ver": [{"var": "version"}, ">", "1.x"]}, "on", null]})),
            "numbers-in": flag(json!({"if": [{"in": [{"var": "age"}, [3, 1, 2.5, -2, 2.0, 9007199254740991_u64]]}, "on",
                {"!": {"in": [{"var": "user.tier"}, [0]]}}, "mid", null]})),
            "numbers-in-huge": flag(json!({"if": [{"in": [{"var": "age"}, [1, 9007199254740992_u64]]}, "on", null]})),
            "in-map": flag(json!({"if": [{"some": [{"var": "tags"}, {"ends_with": [{"var": ""}, "x"]}]}, "on", null]}))
        }
    })
}

/// `(name, lowered, unlowered)` snapshots of each flagd file.
fn pairs() -> &'static [(String, Snapshot, Snapshot)] {
    static ALL: OnceLock<Vec<(String, Snapshot, Snapshot)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files: Vec<(String, String)> = [
            "examples/media.flagd.json",
            "conformance/flagd/testkit-flags.json",
        ]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read_to_string(root.join(f)).unwrap(),
            )
        })
        .collect();
        files.push(("shapes".into(), shapes().to_string()));
        files
            .into_iter()
            .map(|(name, text)| {
                let options = BuildOptions {
                    tenant: Some("t".into()),
                    version: 1,
                    created_at: 0,
                    format_version: vane_resolver::snapshot::FORMAT_VERSION,
                };
                let lowered = build(&name, &text, Format::Flagd, &options)
                    .unwrap_or_else(|d| panic!("{name}: {d:?}"))
                    .snapshot;
                let unlowered = unlowered(&text, &lowered);
                (name, lowered, unlowered)
            })
            .collect()
    })
}

/// The same snapshot with every lowered flag's targeting compiled as plain
/// JsonLogic, encoded and decoded like any snapshot.
fn unlowered(text: &str, lowered: &Snapshot) -> Snapshot {
    let source: Value = serde_json::from_str(text).unwrap();
    let evaluators = source["$evaluators"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut body = lowered.to_body();
    for flag in &mut body.flags {
        if let Targeting::Rules(_) = flag.targeting {
            let rule = &source["flags"][&flag.key]["targeting"];
            flag.targeting = Targeting::JsonLogic(jsonlogic::compile(rule, &evaluators).unwrap());
        }
    }
    let bytes = Snapshot::encode("t", 1, 0, "test", &body).unwrap();
    Snapshot::from_bytes(&bytes).unwrap()
}

#[test]
fn the_lowering_takes_the_shapes_it_proves_and_leaves_the_rest() {
    let (_, shapes, _) = pairs().iter().find(|(n, _, _)| n == "shapes").unwrap();
    let lowered: Vec<&str> = shapes
        .flags()
        .filter(|f| matches!(f.targeting, Targeting::Rules(_)))
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(
        lowered,
        [
            "bools",
            "chain",
            "in-map",
            "nested-else",
            "no-default",
            "numbers",
            "numbers-in",
            "numbers-in-huge",
            "odd-index-path",
            "prefix-else",
            "semver",
            "semver-bad-op",
            "semver-bad-version",
            "semver-ne",
            "semver-swapped",
            "split",
            "split-in-if",
            "split-literal",
            "suffix"
        ]
    );
    // Conditions stay JsonLogic where a typed test would read differently:
    // inside `some` (`var` is the element), on a path segment "01", with an
    // operator or a literal version `sem_ver` does not know.
    for key in [
        "in-map",
        "odd-index-path",
        "numbers-in-huge",
        "semver-bad-op",
        "semver-bad-version",
    ] {
        let flag = shapes.flag(key).unwrap();
        let Targeting::Rules(rules) = &flag.targeting else {
            unreachable!()
        };
        assert!(
            matches!(rules[0].when, Some(Expr::Op(_, _))),
            "{key}: {:?}",
            rules[0].when
        );
    }
    let Targeting::Rules(rules) = &shapes.flag("suffix").unwrap().targeting else {
        unreachable!()
    };
    assert_eq!(
        rules[0].when,
        Some(Expr::Test(
            vec!["email".into()],
            Test::EndsWith("@shop.example".into())
        ))
    );
    let Targeting::Rules(rules) = &shapes.flag("semver-swapped").unwrap().targeting else {
        unreachable!()
    };
    let tests: Vec<_> = rules.iter().map(|r| r.when.clone().unwrap()).collect();
    let version = |v: &str| SemVer::parse(v).unwrap();
    assert_eq!(
        tests,
        [
            (SemVerOp::Gt, version("2.0.0-rc.1")),
            (SemVerOp::Caret, version("v1.0")),
            (SemVerOp::Tilde, version("2")),
        ]
        .map(|(op, v)| Expr::Test(vec!["version".into()], Test::FlagdSemVer(op, v)))
    );
    let (_, media, _) = &pairs()[0];
    assert!(media
        .flags()
        .any(|f| matches!(f.targeting, Targeting::Rules(_))));
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just("ana@shop.example".to_owned()),
        Just("bo@a.example".to_owned()),
        Just("x@y.test".to_owned()),
        Just("u-17".to_owned()),
        Just("gold-plus".to_owned()),
        Just("DE".to_owned()),
        Just("FR".to_owned()),
        Just("x".to_owned()),
        Just("y".to_owned()),
        Just("1.2.0".to_owned()),
        Just("2.0.0-rc.1".to_owned()),
        Just("v1.10.3".to_owned()),
        Just("2".to_owned()),
        Just("2.1".to_owned()),
        Just(String::new()),
        "[a-z@.\\-]{0,12}",
    ]
    .prop_map(Value::String)
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => text(),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => (-3i64..5).prop_map(Value::from),
        1 => prop::sample::select(&[1.1, 1.2, 2.0, 2.5][..]).prop_map(Value::from),
        1 => prop::sample::select(&[9007199254740991_u64, 9007199254740992, 9007199254740993][..])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("(tier|0|01)", inner), 0..2)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

const NAMES: &[&str] = &[
    "targetingKey",
    "email",
    "id",
    "country",
    "beta",
    "user",
    "age",
    "tags",
    "version",
    "color",
];

fn context() -> impl Strategy<Value = Value> {
    let key = prop_oneof![Just(None), "[a-z0-9]{1,8}".prop_map(Some)];
    (
        key,
        prop::collection::vec((prop::sample::select(NAMES), value()), 0..6),
    )
        .prop_map(|(key, attrs)| {
            let mut m: Map<String, Value> = attrs
                .into_iter()
                .filter(|(n, _)| *n != "targetingKey")
                .map(|(n, v)| (n.to_owned(), v))
                .collect();
            if let Some(k) = key {
                m.insert("targetingKey".into(), Value::String(k));
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn lowered_and_unlowered_evaluation_agree(ctx in context()) {
        let context = Context::from_json(&ctx.to_string(), 1_700_000_000).unwrap();
        for (name, lowered, unlowered) in pairs() {
            for flag in lowered.flags() {
                let a = lowered.evaluate(&flag.key, &context);
                let b = unlowered.evaluate(&flag.key, &context);
                prop_assert_eq!(a, b, "{} flag {} context {}", name, flag.key, ctx);
            }
        }
    }
}
