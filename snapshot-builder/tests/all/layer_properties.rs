//! Properties of layers, holdouts and splits over 1,000,000 units, built
//! from Vane YAML and evaluated by the resolver: no unit is in two
//! experiments of a layer; each experiment's share is within 5 standard
//! deviations of its range; growing a range only adds units; held-out
//! units never reach a held-out experiment; moving 10 % of a split's
//! weight moves exactly the units in the moved range.

use serde_json::json;
use vane_resolver::bucket::murmur3_32;
use vane_resolver::{Context, Reason};

use super::layers::snapshot;

const UNITS: usize = 1_000_000;

/// The contexts `{"targetingKey": "unit-{i}"}` for `i` in `0..UNITS`.
fn contexts() -> impl Iterator<Item = Context> {
    (0..UNITS)
        .map(|i| Context::from_value(json!({ "targetingKey": format!("unit-{i}") }), 0).unwrap())
}

/// Asserts `count` of `n` trials is within 5 standard deviations of `p`.
#[track_caller]
fn assert_share(what: &str, count: usize, n: usize, p: f64) {
    let expected = p * n as f64;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (count as f64 - expected).abs() <= 5.0 * sd.max(1.0),
        "{what}: {count} of {n}, expected {expected:.0} ± {:.0}",
        5.0 * sd
    );
}

/// A flag in layer `checkout` with a 50/50 split.
fn experiment(key: &str) -> String {
    format!(
        "  {key}:\n    variants: {{a: a, b: b, none: none}}\n    default: none\n    rules:\n      - layer: checkout\n        split: {{a: 50, b: 50}}\n"
    )
}

/// Layer `checkout` with `experiments` (`(flag key, claim)`), an optional
/// `holdouts` section, and a flag per experiment.
fn layer_file(experiments: &[(&str, &str)], holdouts: &str) -> String {
    let listed: String = experiments
        .iter()
        .map(|(key, claim)| format!("      {key}: {claim}\n"))
        .collect();
    let flags: String = experiments.iter().map(|(key, _)| experiment(key)).collect();
    format!("layers:\n  checkout:\n    experiments:\n{listed}{holdouts}flags:\n{flags}")
}

#[test]
fn a_unit_is_in_at_most_one_experiment_and_shares_hold() {
    let s = snapshot(&layer_file(
        &[
            ("exp-1", "{share: 20}"),
            ("exp-2", "{range: [300000, 550000]}"),
            ("exp-3", "{share: 10}"),
        ],
        "",
    ));
    let mut counts = [0usize; 3];
    for ctx in contexts() {
        let mut inside = 0;
        for (i, key) in ["exp-1", "exp-2", "exp-3"].iter().enumerate() {
            if s.evaluate(key, &ctx).reason == Reason::Split {
                counts[i] += 1;
                inside += 1;
            }
        }
        assert!(inside <= 1, "{ctx:?} is in {inside} experiments");
    }
    assert_share("exp-1", counts[0], UNITS, 0.20);
    assert_share("exp-2", counts[1], UNITS, 0.25);
    assert_share("exp-3", counts[2], UNITS, 0.10);
}

#[test]
fn growing_a_range_only_adds_units() {
    let before = snapshot(&layer_file(&[("exp-1", "{range: [100000, 300000]}")], ""));
    let after = snapshot(&layer_file(&[("exp-1", "{range: [100000, 400000]}")], ""));
    let mut added = 0;
    for ctx in contexts() {
        let (b, a) = (
            before.evaluate("exp-1", &ctx),
            after.evaluate("exp-1", &ctx),
        );
        if b.reason == Reason::Split {
            assert_eq!(
                (a.reason, a.variant),
                (Reason::Split, b.variant),
                "{ctx:?} left or switched"
            );
        } else if a.reason == Reason::Split {
            added += 1;
        }
    }
    assert_share("units added", added, UNITS, 0.10);
}

#[test]
fn held_out_units_never_reach_a_held_out_experiment() {
    let s = snapshot(&layer_file(
        &[("exp-1", "{share: 50}"), ("exp-2", "{share: 50}")],
        "holdouts:\n  h:\n    share: 10\n    from: [exp-1, checkout]\n",
    ));
    let (mut held, mut split) = (0, 0);
    for ctx in contexts() {
        for key in ["exp-1", "exp-2"] {
            let r = s.evaluate(key, &ctx);
            let marked = r
                .metadata
                .is_some_and(|m| m.get("holdout") == Some(&json!("h")));
            match r.reason {
                Reason::Default if marked => held += 1,
                Reason::Split => {
                    assert!(!marked);
                    split += 1
                }
                // Not in this experiment's range: the other one's.
                Reason::Default => {}
                other => panic!("{key} {ctx:?}: {other:?}"),
            }
        }
    }
    // Every unit is in one of the two experiments: 10 % of them held out.
    assert_eq!(held + split, UNITS);
    assert_share("held out", held, UNITS, 0.10);
}

#[test]
fn moving_ten_percent_of_weight_moves_exactly_those_units() {
    let split = |a: u32| {
        snapshot(&format!(
            "flags:\n  f:\n    variants: {{a: a, b: b}}\n    default: a\n    rules:\n      - split: {{a: {a}, b: {}}}\n        salt: s\n",
            100 - a
        ))
    };
    let (before, after) = (split(50), split(40));
    let mut moved = 0;
    for (i, ctx) in contexts().enumerate() {
        let switched = before.evaluate("f", &ctx).variant != after.evaluate("f", &ctx).variant;
        // Independently: the unit's bucket of 100 is in [40, 50).
        let hash = murmur3_32(&[format!("s|unit-{i}").as_bytes()]);
        let bucket = (u64::from(hash) * 100) >> 32;
        assert_eq!(switched, (40..50).contains(&bucket), "unit-{i}");
        moved += usize::from(switched);
    }
    assert_share("moved", moved, UNITS, 0.10);
}
