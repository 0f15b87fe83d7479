//! Arbitrary evaluation contexts never panic and never yield malformed
//! results (and the OFREP bulk body is byte for byte what serde_json writes),
//! against every example tenant and the flagd testkit flags: deep
//! nesting, huge numbers, astral-plane and control characters, wrong types
//! where rules expect strings or numbers.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use vane_resolver::{Context, Reason, Snapshot};
use vane_snapshot_builder::{build, BuildOptions, Format};

fn snapshots() -> &'static [Snapshot] {
    static ALL: OnceLock<Vec<Snapshot>> = OnceLock::new();
    ALL.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        [
            ("examples/shop.yaml", Format::Vane),
            ("examples/media.flagd.json", Format::Flagd),
            ("conformance/flagd/testkit-flags.json", Format::Flagd),
        ]
        .iter()
        .map(|(file, format)| {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let tenant = (*format == Format::Flagd).then(|| "t".to_owned());
            build(
                file,
                &text,
                *format,
                &BuildOptions {
                    tenant,
                    version: 1,
                    created_at: 0,
                    format_version: vane_resolver::snapshot::FORMAT_VERSION,
                },
            )
            .unwrap_or_else(|d| panic!("{file}: {d:?}"))
            .snapshot
        })
        .collect()
    })
}

/// Attribute names the examples' rules read, so generated contexts hit rules.
const NAMES: &[&str] = &[
    "targetingKey",
    "email",
    "country",
    "plan",
    "appVersion",
    "version",
    "platform",
    "region",
    "user",
    "name",
    "tier",
    "age",
    "beta",
    "id",
    "num",
    "color",
    "missing_key",
    "$flagd",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(f64::MAX),
            Just(f64::MIN),
            Just(1e-308),
            Just(-0.0),
            any::<f64>()
        ]
        .prop_filter_map("finite", Number::from_f64)
        .prop_map(Value::Number),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("😀🇩🇪\u{10FFFF}".to_owned()),
            Just("\u{0}\u{1b}[31m".to_owned()),
            Just("e\u{301}".to_owned()),
            Just("2.0.0-alpha+build".to_owned()),
            Just("ana@shop.example".to_owned()),
        ]
        .prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(40, 256, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((prop::sample::select(NAMES), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

fn context_object() -> impl Strategy<Value = Value> {
    proptest::collection::vec((prop::sample::select(NAMES), json_value()), 0..10)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn arbitrary_contexts_give_well_formed_results(ctx in context_object(), now in any::<i64>()) {
        let Ok(context) = Context::from_value(ctx, now) else {
            // Refused contexts (too deep, non-string targeting key) are the caller's INVALID_CONTEXT.
            return Ok(());
        };
        for s in snapshots() {
            let results = s.evaluate_all(&context);
            prop_assert_eq!(results.len(), s.flag_count());
            for (r, f) in results.iter().zip(s.flags()) {
                prop_assert_eq!(r.key.as_ref(), f.key.as_str());
                prop_assert_eq!(r.error_code.is_some(), r.reason == Reason::Error);
                if let Some(v) = r.variant {
                    // A reported variant is one of this flag's own, with its value.
                    let own = f.variants.iter().find(|x| x.name == v);
                    prop_assert!(own.is_some());
                    prop_assert_eq!(r.value, own.map(|x| &x.value));
                }
                serde_json::to_string(r).unwrap();
            }
            // The bulk body the worker sends is what serde_json writes.
            let expected = serde_json::to_vec(&s.evaluate_bulk(&context)).unwrap();
            prop_assert_eq!(s.bulk_json(&context), expected);
        }
    }
}

#[test]
fn contexts_deeper_than_the_limit_are_refused_not_evaluated() {
    let mut deep = Value::from(1);
    for _ in 0..40 {
        deep = Value::Object(Map::from_iter([("user".to_owned(), deep)]));
    }
    assert_eq!(
        Context::from_value(deep, 0),
        Err(vane_resolver::ContextError::TooDeep)
    );
    // Lone surrogates cannot be represented: the JSON parser refuses them.
    assert!(matches!(
        Context::from_json(r#"{"email":"\ud800"}"#, 0),
        Err(vane_resolver::ContextError::Json(_))
    ));
}

/// Every entry of the bulk body is the single-flag answer for the same
/// context, metadata included, over many units of the shop example; some of
/// them held out of the product-page layer's experiments (metadata
/// `holdout`).
#[test]
fn bulk_entries_equal_single_flag_answers_for_held_out_units_too() {
    let shop = &snapshots()[0];
    let mut held_out = Vec::new();
    for unit in (0..2000)
        .map(|i| format!("unit-{i}"))
        .chain(["h-14", "h-77", "h-91"].map(String::from))
    {
        let context = Context::from_json(&format!(r#"{{"targetingKey":"{unit}"}}"#), 0).unwrap();
        let bulk: Value = serde_json::from_slice(&shop.bulk_json(&context)).unwrap();
        let entries = bulk["flags"].as_array().unwrap();
        assert_eq!(entries.len(), shop.flag_count());
        for (entry, flag) in entries.iter().zip(shop.flags()) {
            let single = shop.evaluate(&flag.key, &context).to_json();
            assert_eq!(entry, &single, "{unit}, flag {}", flag.key);
            if entry["metadata"].get("holdout").is_some() {
                held_out.push(format!("{unit}/{}", flag.key));
            }
        }
    }
    for held in [
        "unit-104/reviews-first",
        "h-14/reviews-first",
        "h-77/reviews-first",
        "h-91/sticky-buy-button",
    ] {
        assert!(held_out.iter().any(|h| h == held), "{held} not held out");
    }
}
