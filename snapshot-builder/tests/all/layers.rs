//! Layers, holdouts and full rollouts in Vane YAML: what they serve, the
//! located errors of `docs/rules.md` ("Layers", "Holdouts"), and that a
//! split, layer range or holdout giving one variant everything needs no unit.

use serde_json::{json, Value};
use vane_resolver::{Context, ErrorCode, Reason, Snapshot};
use vane_snapshot_builder::{build, compile, BuildOptions, Diagnostic, Format};

/// Builds Vane YAML for tenant `t`, panicking with the diagnostics.
pub fn snapshot(yaml: &str) -> Snapshot {
    let options = BuildOptions {
        tenant: Some("t".to_owned()),
        version: 1,
        created_at: 0,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    build("t.yaml", yaml, Format::Vane, &options)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .snapshot
}

fn errors(yaml: &str) -> Vec<Diagnostic> {
    match compile("t.yaml", yaml, Format::Vane) {
        Ok(_) => panic!("compiled without errors"),
        Err(d) => d,
    }
}

/// Asserts one error reads exactly `line:column … message`.
#[track_caller]
fn assert_error(yaml: &str, line: u32, column: u32, message: &str) {
    let d = errors(yaml);
    assert!(
        d.iter().any(|d| d.is_error()
            && (d.line, d.column) == (Some(line), Some(column))
            && d.message == message),
        "no error at {line}:{column}: {message}\ngot: {:#?}",
        d.iter()
            .map(|d| format!(
                "{}:{} {}",
                d.line.unwrap_or(0),
                d.column.unwrap_or(0),
                d.message
            ))
            .collect::<Vec<_>>()
    );
}

fn eval(
    s: &Snapshot,
    flag: &str,
    context: Value,
) -> (Option<String>, Reason, Option<ErrorCode>, Option<Value>) {
    let ctx = Context::from_value(context, 0).unwrap();
    let r = s.evaluate(flag, &ctx);
    (
        r.variant.map(str::to_owned),
        r.reason,
        r.error_code,
        r.metadata.and_then(|m| m.get("holdout").cloned()),
    )
}

const FLAGS: &str = "flags:
  a:
    variants: {on: true, off: false}
    default: off
    rules:
      - layer: l
        split: {on: 50, off: 50}
  b:
    variants: {on: true, off: false, hold: false}
    default: off
    rules:
      - layer: l
        serve: on
";

#[test]
fn overlapping_ranges_are_located() {
    let yaml = format!(
        "layers:\n  l:\n    experiments:\n      a: {{range: [0, 600000]}}\n      b: {{range: [500000, 700000]}}\n{FLAGS}"
    );
    assert_error(
        &yaml,
        5,
        7,
        "range [500000, 700000) of experiment 'b' overlaps experiment 'a' in layer 'l'",
    );
}

#[test]
fn a_layer_over_100_percent_is_located() {
    let yaml = format!(
        "layers:\n  l:\n    experiments:\n      a: {{share: 60}}\n      b: {{share: 50}}\n{FLAGS}"
    );
    assert_error(
        &yaml,
        2,
        3,
        "the experiments of layer 'l' claim 1100000 of its 1000000 buckets (110.0000 %): a layer holds at most 100 %",
    );
}

#[test]
fn an_experiment_in_two_places_of_a_layer_is_located() {
    let yaml = "layers:\n  l:\n    experiments:\n      a: {share: 10}\nflags:\n  a:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - layer: l\n        serve: on\n      - layer: l\n        serve: off\n";
    assert_error(
        yaml,
        12,
        16,
        "experiment 'a' is in two places of layer 'l': rules 0 and 1 both name it",
    );
}

#[test]
fn layer_references_are_checked() {
    let yaml = format!(
        "layers:\n  l:\n    experiments:\n      a: {{share: 10}}\n      c: {{share: 10}}\n{FLAGS}"
    );
    let d = errors(&yaml);
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages.contains(
            &"flag 'b' is not an experiment of layer 'l': list it under layers.l.experiments"
        ),
        "{messages:?}"
    );
    assert!(
        messages.contains(
            &"experiment 'c' of layer 'l' has no rule: give a rule of flag 'c' `layer: l`"
        ),
        "{messages:?}"
    );
    let unknown = FLAGS.replace("layer: l\n        serve", "layer: m\n        serve");
    let yaml = format!("layers:\n  l:\n    experiments:\n      a: {{share: 10}}\n{unknown}");
    assert_error(&yaml, 16, 16, "unknown layer 'm'; layers: l");
}

#[test]
fn holdout_problems_are_located() {
    let layers = "layers:\n  l:\n    experiments:\n      a: {share: 10}\n      b: {share: 10}\n";
    let yaml = format!(
        "{layers}holdouts:\n  h:\n    share: 5\n    from: [l, nope]\n    serve: hold\n{FLAGS}"
    );
    let d = errors(&yaml);
    let has = |line, msg: &str| d.iter().any(|d| d.line == Some(line) && d.message == msg);
    assert!(has(9, "'nope' is neither a layer nor a flag"), "{d:#?}");
    assert!(
        has(10, "holdout 'h' serves 'hold', which flag 'a' (an experiment it holds out of) does not define"),
        "{d:#?}"
    );
    let yaml =
        format!("{layers}holdouts:\n  l2:\n    salt: l\n    share: 5\n    from: all\n{FLAGS}");
    assert_error(
        &yaml,
        7,
        3,
        "'l2' buckets units exactly as 'l' does (same salt and unit): give it its own `salt`",
    );
}

#[test]
fn shares_are_placed_in_order_after_explicit_ranges() {
    let yaml = format!("layers:\n  l:\n    experiments:\n      a: {{share: 25}}\n      b: {{range: [0, 100000]}}\n{FLAGS}");
    let s = snapshot(&yaml);
    let ranges = |flag: &str| {
        let ctx = Context::from_value(json!({"targetingKey": "x"}), 0).unwrap();
        let e = s.explain(flag, &ctx);
        e.rules[0].buckets[0].ranges.to_vec()
    };
    assert_eq!(ranges("a"), [(100_000, 350_000)]);
    assert_eq!(ranges("b"), [(0, 100_000)]);
}

#[test]
fn held_out_units_get_the_default_or_the_named_variant() {
    let layers = "layers:\n  l:\n    experiments:\n      b: {share: 100}\n";
    let flags = "flags:\n  b:\n    variants: {on: true, off: false, hold: false}\n    default: off\n    metadata: {team: x}\n    rules:\n      - layer: l\n        split: {on: 1, off: 1}\n";
    let plain = snapshot(&format!(
        "{layers}holdouts:\n  h:\n    share: 100\n    from: [b]\n{flags}"
    ));
    // A 100 % holdout and a 100 % layer range need no unit.
    assert_eq!(
        eval(&plain, "b", json!({})),
        (Some("off".into()), Reason::Default, None, Some(json!("h")))
    );
    let named = snapshot(&format!(
        "{layers}holdouts:\n  h:\n    share: 100\n    from: all\n    serve: hold\n{flags}"
    ));
    let ctx = Context::from_value(json!({"targetingKey": "u"}), 0).unwrap();
    let r = named.evaluate("b", &ctx);
    assert_eq!(
        (r.variant, r.reason),
        (Some("hold"), Reason::TargetingMatch)
    );
    assert_eq!(
        r.metadata,
        Some(&serde_json::from_value(json!({"team": "x", "holdout": "h"})).unwrap())
    );
}

#[test]
fn full_rollouts_need_no_unit() {
    let split = snapshot("flags:\n  f:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - split: {on: 100, off: 0}\n");
    assert_eq!(
        eval(&split, "f", json!({})),
        (Some("on".into()), Reason::Split, None, None)
    );
    let by_attr = snapshot("flags:\n  f:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - split: {on: 0, off: 7}\n        bucket_by: company.id\n");
    assert_eq!(
        eval(&by_attr, "f", json!({})),
        (Some("off".into()), Reason::Split, None, None)
    );
    // A partial split still needs its unit.
    let partial = snapshot("flags:\n  f:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - split: {on: 99, off: 1}\n");
    assert_eq!(
        eval(&partial, "f", json!({})),
        (
            None,
            Reason::Error,
            Some(ErrorCode::TargetingKeyMissing),
            None
        )
    );
    // A layer range of 100 % with a full split: no unit either.
    let layer = snapshot("layers:\n  l:\n    experiments:\n      f: {share: 100}\nflags:\n  f:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - layer: l\n        split: {on: 1, off: 0}\n");
    assert_eq!(
        eval(&layer, "f", json!({})),
        (Some("on".into()), Reason::Split, None, None)
    );
    // A partial layer range without a unit: the unit is in no range, the rule falls through.
    let part = snapshot("layers:\n  l:\n    experiments:\n      f: {share: 50}\nflags:\n  f:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - layer: l\n        split: {on: 1, off: 0}\n");
    assert_eq!(
        eval(&part, "f", json!({})),
        (Some("off".into()), Reason::Default, None, None)
    );
}

#[test]
fn explain_shows_the_layer_the_bucket_and_the_experiment() {
    let yaml = format!("layers:\n  l:\n    experiments:\n      a: {{range: [0, 500000]}}\n      b: {{range: [500000, 1000000]}}\n{FLAGS}");
    let s = snapshot(&yaml);
    for i in 0..20 {
        let ctx = Context::from_value(json!({"targetingKey": format!("u{i}")}), 0).unwrap();
        let e = s.explain("a", &ctx);
        let step = &e.rules[0].buckets[0];
        assert_eq!(
            (step.space, step.salt, step.unit_by.as_str(), step.count),
            ("l", "l", "targetingKey", 1_000_000)
        );
        assert_eq!(step.unit.as_deref(), Some(format!("u{i}").as_str()));
        let bucket = step.bucket.unwrap();
        let slots: Vec<_> = step
            .slots
            .iter()
            .map(|s| (s.ranges.to_vec(), s.flags.clone()))
            .collect();
        assert_eq!(
            slots,
            [
                (vec![(0, 500_000)], vec!["a"]),
                (vec![(500_000, 1_000_000)], vec!["b"])
            ]
        );
        assert_eq!(step.fell_into, Some(usize::from(bucket >= 500_000)));
        assert_eq!(step.holds, bucket < 500_000);
        assert_eq!(e.result.reason == Reason::Split, step.holds);
    }
}
