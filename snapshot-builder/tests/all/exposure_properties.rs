//! The exposure an evaluation records as it resolves
//! ([`Snapshot::evaluate_with_exposure`]) against the one read back from
//! the explanation's steps (the serving rule, its split placement, its
//! bucket-range tests), as OFREP and the Confidence path did before they
//! evaluated once: equal on random contexts, over splits by the targeting
//! key and by an attribute, a split with all the weight on one variant,
//! layers, holdouts with a variant, with the default, by an attribute and
//! one that holds out every unit.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use vane_resolver::explain::{RuleOutcome, Serves};
use vane_resolver::{Context, Explanation, Exposure, Reason, Snapshot};

use super::layers::snapshot;

const RULES: &str = r#"
layers:
  page:
    salt: page-1
    buckets: 100
    experiments:
      exp-a: {share: 40}
      exp-b: {range: [40, 90]}
  accounts:
    bucket_by: account.id
    buckets: 1000
    experiments:
      by-account: {share: 60}
holdouts:
  h-page:
    share: 20
    buckets: 100
    from: [page]
    serve: off
  h-account:
    share: 30
    bucket_by: account.id
    from: [by-account, plain-split]
  h-all:
    share: 100
    from: [everyone]
flags:
  exp-a:
    variants: {on: true, off: false}
    default: off
    rules:
      - when: {plan: pro}
        serve: on
      - layer: page
        split: {on: 50, off: 50}
  exp-b:
    variants: {on: "on", off: "off", mid: "mid"}
    default: off
    rules:
      - layer: page
        split: {on: 10, off: 30, mid: 60}
  by-account:
    variants: {x: x, y: y}
    default: x
    rules:
      - layer: accounts
        split: {x: 1, y: 3}
        bucket_by: account.id
  plain-split:
    variants: {x: x, y: y, z: z}
    default: z
    rules:
      - when: {plan: [free, pro]}
        split: {x: 50, y: 50}
        salt: plain
      - split: {x: 10, y: 20, z: 70}
        bucket_by: account.id
  whole:
    variants: {x: x, y: y}
    default: x
    rules:
      - split: {x: 0, y: 100}
  everyone:
    variants: {x: x, y: y}
    default: x
    rules:
      - split: {x: 50, y: 50}
  static:
    variants: {x: x}
    default: x
"#;

const FLAGS: [&str; 8] = [
    "exp-a",
    "exp-b",
    "by-account",
    "plain-split",
    "whole",
    "everyone",
    "static",
    "missing",
];

/// The exposure as the explanation's steps show it: the rule that matched,
/// its split's placement and cuts, or its holdout's first holding bucket
/// test in the holdout's space.
fn from_steps<'a>(e: &'a Explanation<'a>) -> Option<Exposure<'a>> {
    let result = &e.result;
    if result.error_code.is_some() {
        return None;
    }
    let variant = result.variant?;
    let step = e.rules.iter().find(|r| r.outcome == RuleOutcome::Matched)?;
    let (unit, unit_source, weights, holdout) = match &step.serves {
        Serves::Split(shape) if result.reason == Reason::Split => (
            step.placement.as_ref()?.unit.clone()?,
            shape.bucket_by.clone(),
            shape
                .cuts
                .iter()
                .map(|c| (c.variant, u64::from(c.weight)))
                .collect(),
            None,
        ),
        Serves::Holdout(h) => {
            let test = step.buckets.iter().find(|b| b.space == h.name && b.holds)?;
            let held = test.ranges.iter().map(|(start, end)| end - start).sum();
            (
                test.unit.clone()?,
                test.unit_by.clone(),
                vec![(variant, held)],
                Some(h.name),
            )
        }
        _ => return None,
    };
    Some(Exposure {
        rule: step.index,
        variant,
        unit,
        unit_source,
        weights,
        holdout,
    })
}

/// A unit value: missing, a string, a whole number, or unusable.
fn unit() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        (0u32..5000).prop_map(|i| Some(json!(format!("u-{i}")))),
        (0u32..5000).prop_map(|i| Some(json!(i))),
        Just(Some(json!(true))),
    ]
}

fn context() -> impl Strategy<Value = Value> {
    (
        unit(),
        unit(),
        prop::sample::select(vec![None, Some("free"), Some("pro"), Some("team")]),
    )
        .prop_map(|(key, account, plan)| {
            let mut m = Map::new();
            if let Some(k) = key {
                m.insert("targetingKey".into(), k);
            }
            if let Some(a) = account {
                m.insert("account".into(), json!({ "id": a }));
            }
            if let Some(p) = plan {
                m.insert("plan".into(), json!(p));
            }
            Value::Object(m)
        })
}

fn rules() -> &'static Snapshot {
    static SNAPSHOT: std::sync::OnceLock<Snapshot> = std::sync::OnceLock::new();
    SNAPSHOT.get_or_init(|| snapshot(RULES))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_one_pass_exposure_is_the_explained_one(ctx in context()) {
        let snap = rules();
        // A targeting key that is not a string is refused before evaluation.
        let Ok(ctx) = Context::from_value(ctx, 1_800_000_000) else {
            return Ok(());
        };
        for key in FLAGS {
            let (result, exposure) = snap.evaluate_with_exposure(key, &ctx);
            let explained = snap.explain(key, &ctx);
            prop_assert_eq!(&result, &snap.evaluate(key, &ctx));
            prop_assert_eq!(&result, &explained.result);
            let stepped = from_steps(&explained);
            prop_assert_eq!(exposure.as_ref(), stepped.as_ref(), "{}", key);
            prop_assert_eq!(exposure.as_ref(), explained.exposure(), "{}", key);
        }
    }
}

/// The property above is not vacuous: the rules give every kind of
/// exposure and of non-exposure on a few fixed contexts.
#[test]
fn the_rules_expose_every_kind() {
    let snap = rules();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..400 {
        let ctx = Context::from_value(
            json!({"targetingKey": format!("u-{i}"), "account": {"id": i}, "plan": "free"}),
            0,
        )
        .unwrap();
        for key in FLAGS {
            let (result, exposure) = snap.evaluate_with_exposure(key, &ctx);
            let kind = match &exposure {
                Some(e) if e.holdout.is_some() => format!("{key} held out by {:?}", e.holdout),
                Some(e) => format!("{key} split by {}", e.unit_source),
                None => format!("{key} {:?} none", result.reason),
            };
            seen.insert(kind);
        }
    }
    for kind in [
        "exp-a split by targetingKey",
        "exp-a held out by Some(\"h-page\")",
        "exp-b held out by Some(\"h-page\")",
        "by-account split by account.id",
        "by-account held out by Some(\"h-account\")",
        "plain-split split by targetingKey",
        "plain-split held out by Some(\"h-account\")",
        "whole Split none",
        "everyone Default none",
        "static Static none",
    ] {
        assert!(seen.contains(kind), "{kind} not seen in {seen:#?}");
    }
}
