//! Vane YAML end to end: every feature of `docs/rules.md` compiled with the
//! builder, encoded, decoded and evaluated by the resolver, with exact
//! values, variants and reasons; every class of validation error with its
//! message and line:column; several errors reported in one run.
//!
//! Expected split assignments were computed independently of this code base
//! (a separate MurmurHash3 x86_32 implementation over `"{salt}|{unit}"`,
//! checked against the reference vector `hello` → `0x248bfa47`).

use serde_json::{json, Value};
use vane_resolver::{Context, ErrorCode, Reason, Snapshot};
use vane_snapshot_builder::{build, compile, BuildOptions, Diagnostic, Format, Severity};

/// Evaluation time of most tests: 2025-06-15T15:06:40Z.
const NOW: i64 = 1_750_000_000;

fn built(yaml: &str) -> vane_snapshot_builder::Built {
    let options = BuildOptions {
        tenant: Some("t".to_owned()),
        version: 1,
        created_at: 0,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    build("t.yaml", yaml, Format::Vane, &options).unwrap_or_else(|d| {
        panic!(
            "does not build:\n{}",
            d.iter().map(|d| format!("{d}\n")).collect::<String>()
        )
    })
}

/// The warning every build of rules without `clients:` carries.
const NO_CLIENTS: &str = "warning: t.yaml: no clients: no client key can read these flags at the \
                          edge; add `clients:` with the sha256 of each client key (docs/rules.md, \
                          \"Clients\")";

/// Each diagnostic as `vane check` prints it.
fn printed(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics.iter().map(ToString::to_string).collect()
}

fn snapshot(yaml: &str) -> Snapshot {
    built(yaml).snapshot
}

/// What one evaluation gave.
#[derive(Debug, PartialEq)]
struct Got {
    value: Option<Value>,
    variant: Option<String>,
    reason: Reason,
    error: Option<ErrorCode>,
}

fn eval_at(s: &Snapshot, flag: &str, context: Value, now: i64) -> Got {
    let context = Context::from_value(context, now).unwrap();
    let r = s.evaluate(flag, &context);
    Got {
        value: r.value.cloned(),
        variant: r.variant.map(str::to_owned),
        reason: r.reason,
        error: r.error_code,
    }
}

fn eval(s: &Snapshot, flag: &str, context: Value) -> Got {
    eval_at(s, flag, context, NOW)
}

fn ok(value: Value, variant: &str, reason: Reason) -> Got {
    Got {
        value: Some(value),
        variant: Some(variant.to_owned()),
        reason,
        error: None,
    }
}

/// Whether `when` (a YAML flow mapping) holds for `context`: a boolean flag
/// that serves `on` when it does and its default `off` otherwise.
fn holds_at(when: &str, context: Value, now: i64) -> bool {
    let yaml = format!(
        "flags:\n  f:\n    variants: {{on: true, off: false}}\n    default: off\n    rules:\n      - when: {when}\n        serve: on\n"
    );
    let got = eval_at(&snapshot(&yaml), "f", context, now);
    match got.reason {
        Reason::TargetingMatch => true,
        Reason::Default => false,
        other => panic!("{when}: unexpected reason {other:?} ({got:?})"),
    }
}

fn holds(when: &str, context: Value) -> bool {
    holds_at(when, context, NOW)
}

/// Checks a table of `(when, context, holds)` cases and names every case
/// that comes out wrong.
fn assert_holds(cases: &[(&str, Value, bool)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(when, context, expected)| holds(when, context.clone()) != *expected)
        .map(|(when, context, expected)| format!("{when} with {context}: expected {expected}"))
        .collect();
    assert!(wrong.is_empty(), "wrong cases:\n{}", wrong.join("\n"));
}

fn errors(yaml: &str) -> Vec<Diagnostic> {
    match compile("t.yaml", yaml, Format::Vane) {
        Ok(_) => panic!("compiled without errors"),
        Err(d) => d,
    }
}

/// Asserts that some diagnostic is at `line:column` and contains `message`.
#[track_caller]
fn assert_error(diagnostics: &[Diagnostic], line: u32, column: u32, message: &str) {
    let found = diagnostics.iter().any(|d| {
        d.severity == Severity::Error
            && d.line == Some(line)
            && d.column == Some(column)
            && d.message.contains(message)
    });
    assert!(
        found,
        "no error at {line}:{column} containing {message:?}; got:\n{}",
        diagnostics
            .iter()
            .map(|d| format!("{d}\n"))
            .collect::<String>()
    );
}

// ---------------------------------------------------------------- flags

#[test]
fn typed_variants_without_rules_are_static() {
    let s = snapshot(
        r#"flags:
  banner:
    type: boolean
    variants: {on: true, off: false}
    default: on
  ranking:
    type: string
    variants: {relevance: relevance, popularity: popularity}
    default: popularity
  threshold:
    type: number
    variants: {low: 29.9, standard: 49}
    default: low
  recommendations:
    type: object
    variants:
      compact: {slots: 4, layout: row, sources: [bought-together]}
    default: compact
"#,
    );
    let ctx = json!({"targetingKey": "u"});
    assert_eq!(
        eval(&s, "banner", ctx.clone()),
        ok(json!(true), "on", Reason::Static)
    );
    assert_eq!(
        eval(&s, "ranking", ctx.clone()),
        ok(json!("popularity"), "popularity", Reason::Static)
    );
    assert_eq!(
        eval(&s, "threshold", ctx.clone()),
        ok(json!(29.9), "low", Reason::Static)
    );
    assert_eq!(
        eval(&s, "recommendations", ctx),
        ok(
            json!({"slots": 4, "layout": "row", "sources": ["bought-together"]}),
            "compact",
            Reason::Static
        )
    );
}

#[test]
fn variant_type_is_inferred_when_not_declared() {
    let s = snapshot("flags:\n  f:\n    variants: {a: 1, b: 2.5}\n    default: b\n");
    assert_eq!(
        eval(&s, "f", json!({})),
        ok(json!(2.5), "b", Reason::Static)
    );
}

#[test]
fn default_variant_is_served_when_no_rule_matches() {
    let s = snapshot(
        r#"flags:
  chat:
    variants: {none: none, bot: bot}
    default: none
    rules:
      - when: {plan: pro}
        serve: bot
"#,
    );
    assert_eq!(
        eval(&s, "chat", json!({"plan": "free"})),
        ok(json!("none"), "none", Reason::Default)
    );
    assert_eq!(
        eval(&s, "chat", json!({"plan": "pro"})),
        ok(json!("bot"), "bot", Reason::TargetingMatch)
    );
}

#[test]
fn disabled_flag_has_no_value() {
    let s = snapshot(
        r#"flags:
  gift-wrapping:
    enabled: false
    variants: {on: true, off: false}
    default: off
    rules:
      - serve: on
"#,
    );
    assert_eq!(
        eval(&s, "gift-wrapping", json!({"targetingKey": "u"})),
        Got {
            value: None,
            variant: None,
            reason: Reason::Disabled,
            error: None
        }
    );
}

#[test]
fn flag_metadata_merges_over_flag_set_metadata_and_description_is_dropped() {
    let b = built(
        r#"metadata: {flagSetId: shop, owner: platform}
flags:
  new-search:
    description: Vector search.
    metadata: {owner: search-team, jira: SHOP-1234, sunset: 2026, experimental: true}
    variants: {on: true, off: false}
    default: off
"#,
    );
    let flag = b.snapshot.flag("new-search").unwrap();
    assert_eq!(
        Value::Object(flag.metadata.clone()),
        json!({"flagSetId": "shop", "owner": "search-team", "jira": "SHOP-1234", "sunset": 2026, "experimental": true})
    );
    assert_eq!(
        Value::Object(b.snapshot.metadata().clone()),
        json!({"flagSetId": "shop", "owner": "platform"})
    );
    let context = Context::from_value(json!({}), NOW).unwrap();
    assert_eq!(
        b.snapshot.evaluate("new-search", &context).to_json()["metadata"]["owner"],
        json!("search-team")
    );
}

// ---------------------------------------------------------------- rules

#[test]
fn ordered_rules_first_match_wins() {
    let s = snapshot(
        r#"flags:
  support-chat:
    variants: {none: none, bot: bot, human: human}
    default: none
    rules:
      - when: {plan: enterprise}
        serve: human
      - when: {plan: [pro, enterprise]}
        serve: bot
"#,
    );
    let get = |plan: &str| eval(&s, "support-chat", json!({"plan": plan}));
    assert_eq!(
        get("enterprise"),
        ok(json!("human"), "human", Reason::TargetingMatch)
    );
    assert_eq!(get("pro"), ok(json!("bot"), "bot", Reason::TargetingMatch));
    assert_eq!(get("free"), ok(json!("none"), "none", Reason::Default));
}

#[test]
fn active_window_is_inclusive_from_and_exclusive_until() {
    let s = snapshot(
        r#"flags:
  black-friday:
    variants: {on: true, off: false}
    default: off
    rules:
      - serve: on
        active_from: 2025-11-28T00:00:00Z
        active_until: 1764633600
"#,
    );
    let from = 1_764_288_000; // 2025-11-28T00:00:00Z
    let until = 1_764_633_600; // 2025-12-02T00:00:00Z
    let at = |now| eval_at(&s, "black-friday", json!({}), now).variant.unwrap();
    assert_eq!(at(from - 1), "off");
    assert_eq!(at(from), "on");
    assert_eq!(at(until - 1), "on");
    assert_eq!(at(until), "off");
}

#[test]
fn active_window_accepts_offsets() {
    let s = snapshot(
        "flags:\n  f:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - serve: on\n        active_from: 2025-11-28T01:00:00+01:00\n",
    );
    assert_eq!(
        eval_at(&s, "f", json!({}), 1_764_287_999)
            .variant
            .as_deref(),
        Some("off")
    );
    assert_eq!(
        eval_at(&s, "f", json!({}), 1_764_288_000)
            .variant
            .as_deref(),
        Some("on")
    );
}

// ---------------------------------------------------------------- splits

fn split_flag(extra: &str) -> String {
    format!(
        "flags:\n  exp:\n    variants: {{a: a, b: b}}\n    default: a\n    rules:\n      - split: {{a: 50, b: 50}}\n{extra}"
    )
}

#[test]
fn split_buckets_by_targeting_key_with_the_flag_key_as_salt() {
    let s = snapshot(&split_flag(""));
    // Independently computed: murmur3("exp|user-N") over 50/50.
    let expected = [
        ("user-1", "a"),
        ("user-2", "b"),
        ("user-3", "b"),
        ("user-4", "a"),
        ("user-5", "b"),
    ];
    for (key, variant) in expected {
        assert_eq!(
            eval(&s, "exp", json!({"targetingKey": key})),
            ok(json!(variant), variant, Reason::Split),
            "{key}"
        );
    }
}

#[test]
fn split_salt_and_bucket_by_attribute() {
    let s = snapshot(&split_flag(
        "        bucket_by: company.id\n        salt: pricing-2025\n",
    ));
    // Independently computed: murmur3("pricing-2025|{unit}") over 50/50.
    let get = |id: Value| {
        eval(
            &s,
            "exp",
            json!({"targetingKey": "whoever", "company": {"id": id}}),
        )
    };
    assert_eq!(get(json!("acme")).variant.as_deref(), Some("a"));
    assert_eq!(get(json!("user-3")).variant.as_deref(), Some("b"));
    // Numbers bucket by their JSON spelling: 42 is the unit "42".
    assert_eq!(get(json!(42)), ok(json!("b"), "b", Reason::Split));
    let missing = eval(&s, "exp", json!({"targetingKey": "whoever"}));
    assert_eq!(
        (missing.reason, missing.error),
        (Reason::Error, Some(ErrorCode::TargetingKeyMissing))
    );
}

#[test]
fn split_without_a_targeting_key_is_targeting_key_missing() {
    let s = snapshot(&split_flag(""));
    let got = eval(&s, "exp", json!({}));
    assert_eq!(
        got,
        Got {
            value: None,
            variant: None,
            reason: Reason::Error,
            error: Some(ErrorCode::TargetingKeyMissing)
        }
    );
}

#[test]
fn gradual_rollout_weights_are_relative_and_grow_without_reshuffling() {
    let rollout = |on: u32| {
        snapshot(&format!(
            "flags:\n  rollout:\n    variants: {{on: true, off: false}}\n    default: off\n    rules:\n      - split: {{on: {on}, off: {}}}\n",
            100 - on
        ))
    };
    let (ten, twenty) = (rollout(10), rollout(20));
    let on = |s: &Snapshot, i: usize| {
        eval(s, "rollout", json!({"targetingKey": format!("user-{i}")})).value == Some(json!(true))
    };
    let on_at_10: Vec<usize> = (0..1000).filter(|&i| on(&ten, i)).collect();
    let on_at_20 = (0..1000).filter(|&i| on(&twenty, i)).count();
    // Independently computed for user-0 .. user-999.
    assert_eq!(on_at_10.len(), 104);
    assert_eq!(on_at_20, 200);
    assert!(
        on_at_10.iter().all(|&i| on(&twenty, i)),
        "growing a rollout keeps everyone who had it"
    );
    assert_eq!(
        eval(&ten, "rollout", json!({"targetingKey": "user-6"}))
            .variant
            .as_deref(),
        Some("on")
    );
}

#[test]
fn zero_weight_variants_are_never_served() {
    let s = snapshot(
        "flags:\n  f:\n    variants: {a: a, b: b, c: c}\n    default: a\n    rules:\n      - split: {a: 0, b: 1, c: 0}\n",
    );
    for i in 0..50 {
        assert_eq!(
            eval(&s, "f", json!({"targetingKey": format!("k{i}")}))
                .variant
                .as_deref(),
            Some("b")
        );
    }
}

#[test]
fn split_after_a_condition() {
    let s = snapshot(
        "flags:\n  f:\n    variants: {a: a, b: b}\n    default: a\n    rules:\n      - when: {platform: web}\n        split: {a: 1, b: 3}\n        salt: exp\n",
    );
    // murmur3("exp|user-1") over 1/3 → b; "exp|42" → a.
    assert_eq!(
        eval(
            &s,
            "f",
            json!({"targetingKey": "user-1", "platform": "web"})
        ),
        ok(json!("b"), "b", Reason::Split)
    );
    assert_eq!(
        eval(&s, "f", json!({"targetingKey": "42", "platform": "web"})),
        ok(json!("a"), "a", Reason::Split)
    );
    assert_eq!(
        eval(&s, "f", json!({"targetingKey": "42"})),
        ok(json!("a"), "a", Reason::Default)
    );
}

// ---------------------------------------------------------------- conditions

#[test]
fn equals_is_strict_about_types() {
    assert_holds(&[
        ("{plan: pro}", json!({"plan": "pro"}), true),
        ("{plan: {equals: pro}}", json!({"plan": "pro"}), true),
        ("{plan: pro}", json!({"plan": "Pro"}), false),
        ("{plan: pro}", json!({}), false),
        ("{beta: true}", json!({"beta": true}), true),
        ("{beta: true}", json!({"beta": "true"}), false),
        ("{store: 42}", json!({"store": 42}), true),
        ("{store: 42}", json!({"store": 42.0}), true),
        ("{store: 42}", json!({"store": "42"}), false),
        ("{store: \"42\"}", json!({"store": "42"}), true),
        (
            "{tags: {equals: [a, 1]}}",
            json!({"tags": ["a", 1.0]}),
            true,
        ),
        (
            "{geo: {equals: {lat: 1, lon: 2}}}",
            json!({"geo": {"lon": 2, "lat": 1}}),
            true,
        ),
        (
            "{geo: {equals: {lat: 1}}}",
            json!({"geo": {"lat": 1, "lon": 2}}),
            false,
        ),
    ]);
}

#[test]
fn in_and_not_in() {
    assert_holds(&[
        ("{country: [DE, AT, CH]}", json!({"country": "AT"}), true),
        (
            "{country: {in: [DE, AT, CH]}}",
            json!({"country": "CH"}),
            true,
        ),
        ("{country: {in: [DE, AT]}}", json!({"country": "FR"}), false),
        ("{store_id: {in: [17, 3, 9]}}", json!({"store_id": 9}), true),
        (
            "{store_id: {in: [17, 3, 9]}}",
            json!({"store_id": "9"}),
            false,
        ),
        (
            "{country: {not_in: [DE, AT]}}",
            json!({"country": "FR"}),
            true,
        ),
        (
            "{country: {not_in: [DE, AT]}}",
            json!({"country": "DE"}),
            false,
        ),
        (
            "{store_id: {not_in: [3, 17]}}",
            json!({"store_id": 4}),
            true,
        ),
        // Strict: a missing or mistyped attribute is not "not in" the set ...
        ("{country: {not_in: [DE]}}", json!({}), false),
        ("{country: {not_in: [DE]}}", json!({"country": 7}), false),
        // ... while `not` around `in` counts it.
        ("{not: {country: {in: [DE]}}}", json!({}), true),
    ]);
}

#[test]
fn numeric_comparisons() {
    assert_holds(&[
        ("{age: {gte: 18}}", json!({"age": 18}), true),
        ("{age: {gt: 18}}", json!({"age": 18}), false),
        ("{age: {lt: 18}}", json!({"age": 17.5}), true),
        ("{age: {lte: 18}}", json!({"age": 18}), true),
        ("{age: {gte: 18, lt: 65}}", json!({"age": 64}), true),
        ("{age: {gte: 18, lt: 65}}", json!({"age": 65}), false),
        ("{age: {gte: 18}}", json!({"age": "20"}), false),
        ("{age: {gte: 18}}", json!({}), false),
        (
            "{cart.total: {gt: 99.5}}",
            json!({"cart": {"total": 100}}),
            true,
        ),
        // Large integers compare exactly.
        (
            "{id: {gt: 9007199254740992}}",
            json!({"id": 9_007_199_254_740_993u64}),
            true,
        ),
    ]);
}

#[test]
fn semver_comparisons() {
    let when = "{appVersion: {semver_gte: 4.2.0, semver_lt: 5.0.0}}";
    assert_holds(&[
        (when, json!({"appVersion": "4.2.0"}), true),
        (when, json!({"appVersion": "4.10.1"}), true),
        (when, json!({"appVersion": "4.2.0-rc.1"}), false),
        (when, json!({"appVersion": "5.0.0"}), false),
        (when, json!({"appVersion": "four"}), false),
        (when, json!({"appVersion": 4.2}), false),
        (
            "{v: {semver_eq: 1.2.3}}",
            json!({"v": "v1.2.3+build.7"}),
            true,
        ),
        ("{v: {semver_gt: 2.1}}", json!({"v": "2.1.1"}), true),
        ("{v: {semver_lte: 2.1.0}}", json!({"v": "2.1.0"}), true),
    ]);
}

#[test]
fn starts_with_ends_with_contains() {
    assert_holds(&[
        (
            "{email: {ends_with: \"@shop.example\"}}",
            json!({"email": "ana@shop.example"}),
            true,
        ),
        (
            "{email: {ends_with: \"@shop.example\"}}",
            json!({"email": "ana@SHOP.example"}),
            false,
        ),
        (
            "{sku: {starts_with: GIFT-}}",
            json!({"sku": "GIFT-42"}),
            true,
        ),
        ("{sku: {starts_with: GIFT-}}", json!({"sku": 42}), false),
        (
            "{userAgent: {contains: Mobile}}",
            json!({"userAgent": "Safari Mobile/15"}),
            true,
        ),
        (
            "{tags: {contains: beta-tester}}",
            json!({"tags": ["vip", "beta-tester"]}),
            true,
        ),
        (
            "{tags: {contains: beta}}",
            json!({"tags": ["beta-tester"]}),
            false,
        ),
        ("{seats: {contains: 10}}", json!({"seats": [5, 10.0]}), true),
        ("{seats: {contains: 10}}", json!({"seats": "10"}), false),
    ]);
}

#[test]
fn regex_matches_unanchored_and_case_flags_work() {
    let when = r#"{email: {regex: "(?i)^[a-z0-9._%+-]+@(shop|shop-staff)\\.example$"}}"#;
    assert_holds(&[
        (when, json!({"email": "Ana@Shop-Staff.example"}), true),
        (when, json!({"email": "ana@shop.example.org"}), false),
        (
            "{path: {regex: \"/checkout/\"}}",
            json!({"path": "/de/checkout/pay"}),
            true,
        ),
        (
            "{path: {regex: \"/checkout/\"}}",
            json!({"path": ["/checkout/"]}),
            false,
        ),
    ]);
}

/// A regex test reads at most 1,024 bytes of its attribute. A longer one
/// cannot be decided, so the flag's evaluation fails (`INVALID_CONTEXT`)
/// rather than counting it as "no match", which `not` would turn into a
/// match; an earlier rule that applies still serves.
#[test]
fn a_regex_test_over_the_input_cap_fails_the_evaluation_whatever_negates_it() {
    let regex = r#"{email: {regex: "@competitor\\."}}"#;
    let long = format!("{}@competitor.example", "a".repeat(1024));
    let at_cap = format!("{}@competitor.example", "a".repeat(1024 - 19));
    assert_eq!(at_cap.len(), 1024);
    let failed = Got {
        value: None,
        variant: None,
        reason: Reason::Error,
        error: Some(ErrorCode::InvalidContext),
    };
    for when in [
        regex.to_owned(),
        format!("{{not: {regex}}}"),
        format!("{{any: [{{plan: pro}}, {{not: {regex}}}]}}"),
        format!("{{all: [{{not: {regex}}}, {{not: {{plan: pro}}}}]}}"),
    ] {
        let s = snapshot(&format!(
            "flags:\n  f:\n    variants: {{on: true, off: false}}\n    default: off\n    rules:\n      - when: {{vip: true}}\n        serve: off\n      - when: {when}\n        serve: on\n"
        ));
        assert_eq!(eval(&s, "f", json!({"email": long})), failed, "{when}");
        let decided = eval(&s, "f", json!({"email": at_cap}));
        assert_ne!(decided.reason, Reason::Error, "{when}");
        assert_eq!(
            eval(&s, "f", json!({"email": long, "vip": true})),
            ok(json!(false), "off", Reason::TargetingMatch),
            "{when}: the rule before it applies"
        );
    }
    let s = snapshot(&format!(
        "flags:\n  f:\n    variants: {{on: true, off: false}}\n    default: off\n    rules:\n      - when: {regex}\n        serve: on\n"
    ));
    let context = Context::from_value(json!({"email": long}), NOW).unwrap();
    assert_eq!(
        s.evaluate("f", &context).error_details.as_deref(),
        Some(
            "attribute 'email' is 1043 bytes long; a regex test reads at most 1024 bytes, so \
             the condition cannot be decided"
        )
    );
}

#[test]
fn before_and_after_timestamps() {
    let after = "{signupDate: {after: 2025-01-01T00:00:00Z}}";
    assert!(holds(after, json!({"signupDate": "2025-03-01T12:00:00Z"})));
    assert!(holds(
        after,
        json!({"signupDate": "2025-01-01T00:00:00.5Z"})
    ));
    assert!(
        !holds(after, json!({"signupDate": "2025-01-01T00:00:00Z"})),
        "strictly after"
    );
    assert!(!holds(
        after,
        json!({"signupDate": "2025-01-01T00:30:00+01:00"})
    ));
    assert!(holds(after, json!({"signupDate": 1_735_689_601})));
    assert!(!holds(after, json!({"signupDate": "March 2025"})));
    assert!(!holds(after, json!({})));
    let before = "{signupDate: {before: 1735689600}}";
    assert!(holds(before, json!({"signupDate": 1_735_689_599.5})));
    assert!(!holds(
        before,
        json!({"signupDate": "2025-01-01T00:00:00Z"})
    ));
    // `now` is the evaluation time.
    let trial = "{trialEndsAt: {after: now}}";
    assert!(holds_at(
        trial,
        json!({"trialEndsAt": "2025-06-30T00:00:00Z"}),
        NOW
    ));
    assert!(!holds_at(
        trial,
        json!({"trialEndsAt": "2025-06-30T00:00:00Z"}),
        1_751_241_600
    ));
}

#[test]
fn exists_true_and_false() {
    assert_holds(&[
        (
            "{user.email: {exists: true}}",
            json!({"user": {"email": "a@b.c"}}),
            true,
        ),
        (
            "{user.email: {exists: true}}",
            json!({"user": {"email": null}}),
            false,
        ),
        ("{user.email: {exists: false}}", json!({"user": {}}), true),
        (
            "{user.email: {exists: false}}",
            json!({"user": {"email": null}}),
            true,
        ),
        (
            "{user.email: {exists: false}}",
            json!({"user": {"email": ""}}),
            false,
        ),
    ]);
}

#[test]
fn attribute_paths_reach_into_objects_and_arrays() {
    assert_holds(&[
        (
            "{cart.items.0.sku: GIFT-1}",
            json!({"cart": {"items": [{"sku": "GIFT-1"}]}}),
            true,
        ),
        (
            "{cart.items.1.sku: GIFT-1}",
            json!({"cart": {"items": [{"sku": "GIFT-1"}]}}),
            false,
        ),
        ("{targetingKey: u-1}", json!({"targeting_key": "u-1"}), true),
    ]);
}

#[test]
fn all_any_not_and_several_keys() {
    let when = "{any: [{plan: enterprise}, {all: [{plan: pro}, {seats: {gte: 10}}]}], not: {country: [KP, IR]}}";
    assert_holds(&[
        (when, json!({"plan": "enterprise"}), true),
        (when, json!({"plan": "pro", "seats": 10}), true),
        (when, json!({"plan": "pro", "seats": 9}), false),
        (when, json!({"plan": "enterprise", "country": "KP"}), false),
        (
            "{plan: pro, country: DE}",
            json!({"plan": "pro", "country": "DE"}),
            true,
        ),
        (
            "{plan: pro, country: DE}",
            json!({"plan": "pro", "country": "AT"}),
            false,
        ),
    ]);
}

#[test]
fn segments_nest_and_are_inlined() {
    let b = built(
        r#"segments:
  internal:
    email: {ends_with: "@shop.example"}
  beta-testers:
    any:
      - segment: internal
      - tags: {contains: beta-tester}
flags:
  new-search:
    variants: {on: true, off: false}
    default: off
    rules:
      - when: {segment: beta-testers}
        serve: on
"#,
    );
    assert_eq!(printed(&b.warnings), [NO_CLIENTS]);
    let s = &b.snapshot;
    assert_eq!(
        eval(s, "new-search", json!({"email": "ana@shop.example"})),
        ok(json!(true), "on", Reason::TargetingMatch)
    );
    assert_eq!(
        eval(s, "new-search", json!({"tags": ["beta-tester"]}))
            .variant
            .as_deref(),
        Some("on")
    );
    assert_eq!(
        eval(s, "new-search", json!({"email": "bob@example.org"})),
        ok(json!(false), "off", Reason::Default)
    );
}

/// A file whose segments use `previous` (a condition naming segment
/// `s{i-1}`) for `s1..=n`, `s0` being `{x: 1}`, and one flag whose rule uses
/// `rule`.
fn segment_chain(n: usize, previous: &str, rule: &str) -> String {
    let mut text = String::from("segments:\n  s0: {x: 1}\n");
    for i in 1..=n {
        let p = format!("s{}", i - 1);
        text.push_str(&format!("  s{i}: {}\n", previous.replace("PREV", &p)));
    }
    text + &format!(
        "flags:\n  f:\n    variants: {{on: true, off: false}}\n    default: off\n    rules:\n      - when: {rule}\n        serve: on\n"
    )
}

#[test]
fn segments_that_double_are_refused_where_they_exceed_the_limit() {
    // s16 would be 2^16 tests: 30 such lines took over a minute and 7 GB.
    let text = segment_chain(
        30,
        "{any: [{segment: PREV}, {segment: PREV}]}",
        "{segment: s30}",
    );
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_error(
        &d,
        18,
        3,
        "the condition (with its segments expanded) is larger than 100000 nodes",
    );
    assert_eq!(d[0].path, "segments.s16");
}

#[test]
fn segments_inlined_deeper_than_64_levels_are_refused() {
    // 300 nested `not`s through segments: the snapshot could not be decoded
    // ("internal error"); 100,000 of them overflowed the stack.
    let text = segment_chain(300, "{not: {segment: PREV}}", "{segment: s300}");
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_error(
        &d,
        65,
        3,
        "segment 's63' nests deeper than 64 levels with the segments it uses inlined",
    );
    // Within the limit the chain builds and evaluates: 10 `not`s of x == 1.
    let s = snapshot(&segment_chain(
        10,
        "{not: {segment: PREV}}",
        "{segment: s10}",
    ));
    assert_eq!(
        eval(&s, "f", json!({"x": 1})).variant.as_deref(),
        Some("on")
    );
    assert_eq!(
        eval(&s, "f", json!({"x": 2})).variant.as_deref(),
        Some("off")
    );
}

#[test]
fn segment_references_nest_at_most_64_deep() {
    // Each segment uses the one defined after it: lowering recursed once per
    // segment. Reported once, at the reference 64 levels in.
    let n = 2_000;
    let mut text = String::from("segments:\n");
    for i in 0..n {
        text.push_str(&format!("  s{i}: {{segment: s{}}}\n", i + 1));
    }
    text.push_str(&format!(
        "  s{n}: {{x: 1}}\nflags:\n  f:\n    variants: {{on: true, off: false}}\n    default: off\n    rules:\n      - when: {{segment: s0}}\n        serve: on\n"
    ));
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_error(&d, 65, 18, "segments nest more than 64 deep here");
}

#[test]
fn all_conditions_of_a_file_share_one_node_allowance() {
    // s15 is 98,303 nodes, under the limit, and s0..s15 about twice that;
    // with 18 rules' copies the file holds 1.97 million nodes, and the 19th
    // copy goes over.
    let rule_uses = (0..30)
        .map(|_| "      - when: {segment: s15}\n        serve: on\n")
        .collect::<String>();
    let text = segment_chain(
        15,
        "{any: [{segment: PREV}, {segment: PREV}]}",
        "{segment: s15}",
    ) + &rule_uses;
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(
        d[0].message.starts_with(
            "the file's conditions (with their segments expanded) are larger than 2000000 nodes"
        ),
        "{}",
        d[0].message
    );
    assert_eq!(d[0].path, "flags.f.rules[18].when");
}

// ---------------------------------------------------------------- access

#[test]
fn tenant_clients_and_cors_origins_reach_the_snapshot() {
    let web = "78932a41784d4f9b85be715d0d74efb75e3424cb015f6eb660f23a1953f0a65b";
    let backend = "870BB2929ED4BD17ED9CD820A5F2D35F2D8CC576E42B9632E64F9B406AB34429";
    let yaml = format!(
        "tenant: shop\nclients:\n  web:\n    key_sha256: [{web}]\n  backend:\n    key_sha256:\n      - {backend}\ncors_origins: [https://www.shop.example, http://localhost:8080, https://www.shop.example]\n"
    );
    let c = compile("t.yaml", &yaml, Format::Vane).unwrap();
    assert_eq!(c.tenant.as_deref(), Some("shop"));
    let clients: Vec<(String, Vec<String>)> = c
        .body
        .clients
        .iter()
        .map(|c| {
            let hex = c
                .key_digests
                .iter()
                .map(|d| vane_resolver::snapshot::hex(&d.0))
                .collect();
            (c.name.clone(), hex)
        })
        .collect();
    assert_eq!(
        clients,
        [
            ("backend".to_owned(), vec![backend.to_lowercase()]),
            ("web".to_owned(), vec![web.to_owned()])
        ]
    );
    assert_eq!(
        c.body.cors_origins,
        ["http://localhost:8080", "https://www.shop.example"]
    );
}

#[test]
fn the_shop_example_compiles_and_evaluates() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/shop.yaml"
    ))
    .unwrap();
    let b = build(
        "examples/shop.yaml",
        &text,
        Format::Vane,
        &BuildOptions {
            tenant: None,
            version: 1,
            created_at: 0,
            format_version: vane_resolver::snapshot::FORMAT_VERSION,
        },
    )
    .unwrap();
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    let s = &b.snapshot;
    assert_eq!(s.info.tenant, "shop");
    assert_eq!(s.clients().len(), 2);
    let staff = json!({"targetingKey": "user-1", "email": "ana@shop.example"});
    assert_eq!(
        eval(s, "checkout-flow", staff.clone()),
        ok(json!("one-page"), "one-page", Reason::TargetingMatch)
    );
    assert_eq!(
        eval(s, "new-search", staff),
        ok(json!(true), "on", Reason::TargetingMatch)
    );
    assert_eq!(
        eval(s, "checkout-flow", json!({"targetingKey": "user-1"})).reason,
        Reason::Split
    );
    assert_eq!(eval(s, "gift-wrapping", json!({})).reason, Reason::Disabled);
    assert_eq!(
        eval(s, "free-shipping-threshold", json!({"plan": "pro"})),
        ok(json!(29.9), "low", Reason::TargetingMatch)
    );
    assert_eq!(
        eval(
            s,
            "free-shipping-threshold",
            json!({"country": "AT", "region": "us-east"})
        ),
        ok(json!(75), "high", Reason::TargetingMatch)
    );
    assert_eq!(
        eval_at(s, "black-friday-banner", json!({}), 1_795_737_600)
            .variant
            .as_deref(),
        Some("on"),
        "2026-11-27T00:00:00Z"
    );
}

// ---------------------------------------------------------------- errors

#[test]
fn unknown_variants_are_located() {
    let d = errors(
        r#"flags:
  f:
    variants: {on: true, off: false}
    default: of
    rules:
      - serve: maybe
      - split: {on: 1, never: 1}
"#,
    );
    assert_error(&d, 4, 14, "unknown variant 'of'; variants: on, off");
    assert_error(&d, 6, 16, "unknown variant 'maybe'");
    assert_error(&d, 7, 24, "unknown variant 'never'");
    assert_eq!(d.len(), 3, "{d:?}");
    let shown = d[1].to_string();
    assert_eq!(
        shown,
        "error: t.yaml:6:16: flag 'f' at flags.f.rules[0].serve: unknown variant 'maybe'; variants: on, off"
    );
}

#[test]
fn mixed_variant_types_and_declared_type_mismatch() {
    let d = errors(
        r#"flags:
  mixed:
    variants:
      a: 1
      b: "1"
    default: a
  declared:
    type: boolean
    variants: {on: true, off: "false"}
    default: on
  list:
    variants: {a: [1, 2]}
    default: a
  typo:
    type: bool
    variants: {on: true}
    default: on
"#,
    );
    assert_error(
        &d,
        15,
        11,
        "unknown flag type 'bool'; types: boolean, string, number, object",
    );
    assert_error(
        &d,
        5,
        10,
        "mixed variant types: variant 'b' is a string, but variant 'a' is a number",
    );
    assert_error(
        &d,
        9,
        31,
        "variant 'off' is a string, but the flag's type is boolean",
    );
    assert_error(
        &d,
        12,
        19,
        "variant 'a' must be a boolean, string, number or object, found a list",
    );
}

#[test]
fn default_variant_missing() {
    let d = errors("flags:\n  f:\n    variants: {on: true}\n");
    assert_error(
        &d,
        2,
        3,
        "default variant missing: add `default:` naming one of: on",
    );
    assert_eq!(d[0].flag.as_deref(), Some("f"));
}

#[test]
fn split_weight_errors() {
    let d = errors(
        r#"flags:
  f:
    variants: {a: a, b: b}
    default: a
    rules:
      - split: {a: -5, b: 1}
      - split: {a: 0, b: 0}
      - split: {a: 4294967295, b: 1}
      - split: {a: 2.5, b: 1}
      - split: {a: 4294967296, b: 0}
"#,
    );
    assert_error(&d, 6, 20, "split weight must not be negative, found -5");
    assert_error(&d, 7, 16, "split weights are all zero");
    assert_error(
        &d,
        8,
        16,
        "split weights add up to 4294967296, more than 4294967295",
    );
    assert_error(&d, 9, 20, "split weights are whole numbers, found 2.5");
    assert_error(
        &d,
        10,
        20,
        "split weight 4294967296 is more than 4294967295",
    );
    assert_eq!(d.len(), 5, "{d:?}");
}

#[test]
fn unknown_segment_and_segment_cycle() {
    let d = errors(
        r#"segments:
  a:
    segment: b
  b:
    any:
      - segment: a
  c:
    plan: pro
flags:
  f:
    variants: {on: true, off: false}
    default: off
    rules:
      - when: {segment: internl}
        serve: on
      - when: {segment: a}
        serve: on
"#,
    );
    assert_error(&d, 6, 18, "segment cycle: a → b → a");
    assert_error(&d, 14, 25, "unknown segment 'internl'");
    // The cycle is reported once, not again where a flag uses it.
    assert_eq!(d.iter().filter(|d| d.is_error()).count(), 2, "{d:?}");
    assert!(d
        .iter()
        .any(|d| d.severity == Severity::Warning && d.message.contains("segment 'c' is not used")));
}

#[test]
fn malformed_semver_regex_and_timestamps() {
    let d = errors(
        r#"flags:
  f:
    variants: {on: true, off: false}
    default: off
    rules:
      - when: {v: {semver_gte: 1.02.0}}
        serve: on
      - when: {email: {regex: "(unclosed"}}
        serve: on
      - when: {signup: {after: 2025-13-01T00:00:00Z}}
        serve: on
      - serve: on
        active_from: tomorrow
        active_until: 2025-01-01T00:00:00.5Z
"#,
    );
    assert_error(
        &d,
        6,
        32,
        "malformed semantic version '1.02.0': the minor version has a leading zero",
    );
    assert_error(&d, 8, 31, "malformed regex '(unclosed'");
    assert_error(&d, 10, 32, "malformed timestamp '2025-13-01T00:00:00Z'");
    assert_error(&d, 13, 22, "malformed timestamp 'tomorrow'");
    assert_error(&d, 14, 23, "rules use whole seconds");
}

#[test]
fn empty_window_is_an_error() {
    let d = errors(
        "flags:\n  f:\n    variants: {on: true}\n    default: on\n    rules:\n      - serve: on\n        active_from: 2025-02-01T00:00:00Z\n        active_until: 2025-01-01T00:00:00Z\n",
    );
    assert_error(
        &d,
        8,
        23,
        "empty window: active_from (1738368000) is not before active_until (1735689600)",
    );
}

#[test]
fn a_variant_with_an_empty_name_is_one_error_at_the_name() {
    let d = errors("flags:\n  f:\n    variants: {\"\": true}\n    default: on\n");
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_error(&d, 3, 16, "empty mapping key");
    let d = errors("flags:\n  f:\n    variants: {}\n    default: on\n");
    assert_error(&d, 3, 15, "a flag needs at least one variant");
}

#[test]
fn flag_keys_longer_than_the_edge_accepts_are_errors() {
    let key = "k".repeat(257);
    let d = errors(&format!(
        "flags:\n  {key}:\n    variants: {{on: true}}\n    default: on\n"
    ));
    assert_error(
        &d,
        2,
        3,
        "flag key is 257 bytes long; the edge evaluates keys of at most 256 bytes",
    );
    let longest = "k".repeat(256);
    let s = snapshot(&format!(
        "flags:\n  {longest}:\n    variants: {{on: true}}\n    default: on\n"
    ));
    assert_eq!(
        eval(&s, &longest, json!({})),
        ok(json!(true), "on", Reason::Static)
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let d = errors(
        r#"segments:
  s: {plan: pro}
  s: {plan: free}
flags:
  f:
    variants:
      on: true
      on: false
    default: on
    rules:
      - when: {plan: pro, plan: free}
        serve: on
  f:
    variants: {x: 1}
    default: x
"#,
    );
    assert_error(
        &d,
        3,
        3,
        "duplicate key 's' in segments (first defined at line 2, column 3)",
    );
    assert_error(
        &d,
        8,
        7,
        "duplicate key 'on' in variants (first defined at line 7, column 7)",
    );
    assert_error(&d, 11, 27, "duplicate key 'plan'");
    assert_error(
        &d,
        13,
        3,
        "duplicate key 'f' in flags (first defined at line 5, column 3)",
    );
}

#[test]
fn unknown_fields_and_operators_are_errors_with_hints() {
    let d = errors(
        r#"tenant: t
flgs: {}
flags:
  f:
    varients: {on: true}
    default: on
    rules:
      - when: {email: {endswith: x}}
        serv: on
"#,
    );
    assert_error(
        &d,
        2,
        1,
        "unknown field 'flgs' in the file; did you mean 'flags'?",
    );
    assert_error(
        &d,
        5,
        5,
        "unknown field 'varients' in a flag; did you mean 'variants'?",
    );
    assert_error(
        &d,
        8,
        24,
        "unknown operator 'endswith' (did you mean 'ends_with'?)",
    );
    assert_error(
        &d,
        9,
        9,
        "unknown field 'serv' in a rule; did you mean 'serve'?",
    );
}

#[test]
fn access_errors() {
    let d = errors(
        r#"tenant: Shop
clients:
  web:
    key_sha256: [shop-web-key-5e7d1c2b8a94]
  app:
    key_sha256:
      - 78932a41784d4f9b85be715d0d74efb75e3424cb015f6eb660f23a1953f0a65b
      - 78932a41784d4f9b85be715d0d74efb75e3424cb015f6eb660f23a1953f0a65b
cors_origins: [https://shop.example/]
"#,
    );
    assert_error(&d, 1, 9, "\"Shop\" is not a tenant name");
    assert_error(
        &d,
        4,
        18,
        "expected the sha256 of the client key as 64 hex digits, never the plain key",
    );
    assert_error(&d, 8, 9, "this key digest already belongs to client 'app'");
    assert_error(&d, 9, 16, "'https://shop.example/' is not an origin");
}

#[test]
fn condition_shape_errors() {
    let d = errors(
        r#"flags:
  f:
    variants: {on: true}
    default: on
    rules:
      - when: {}
        serve: on
      - when: {any: []}
        serve: on
      - when: {country: [DE, 1]}
        serve: on
      - when: {plan: null}
        serve: on
      - when: {plan: {not: free}}
        serve: on
      - serve: on
        salt: x
      - description: nothing to serve
"#,
    );
    assert_error(&d, 6, 15, "empty condition");
    assert_error(&d, 8, 21, "`any` needs at least one condition");
    assert_error(&d, 10, 25, "the set mixes strings and numbers");
    assert_error(&d, 12, 22, "cannot compare with null: use `exists: false`");
    assert_error(
        &d,
        14,
        23,
        "`not` combines conditions and belongs beside attributes",
    );
    assert_error(&d, 17, 15, "`salt` only applies to a `split`");
    assert_error(&d, 18, 9, "a rule needs `serve: <variant>` or `split:");
}

#[test]
fn yaml_level_errors() {
    let d = errors("flags:\n  f: [unclosed\n");
    assert!(d[0].message.starts_with("YAML syntax error"), "{d:?}");
    let d = errors("segments:\n  a: &shared {plan: pro}\n  b: *shared\n");
    assert_error(&d, 3, 6, "YAML aliases (*name) are not supported");
    let d = errors("flags: {}\n---\nflags: {}\n");
    assert_error(&d, 2, 1, "a rules file holds one YAML document");
}

#[test]
fn unreachable_rule_is_a_warning() {
    let b = built(
        "flags:\n  f:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - serve: on\n      - when: {plan: pro}\n        serve: off\n",
    );
    assert_eq!(
        printed(&b.warnings),
        [
            "warning: t.yaml:7:9: flag 'f' at flags.f.rules[1]: this rule never applies: rule 0 \
             above always matches",
            NO_CLIENTS
        ]
    );
}

#[test]
fn every_problem_is_reported_in_one_run_in_source_order() {
    let d = errors(
        r#"tenant: t
clients:
  web:
    key_sha256: [not-a-digest]
segments:
  loop: {segment: loop}
flags:
  a:
    variants: {on: true, off: 0}
    default: on
  b:
    variants: {x: x}
    default: y
    rules:
      - when: {v: {semver_gt: one}}
        serve: x
      - split: {x: -1}
  c:
    varaints: {x: x}
"#,
    );
    let errors: Vec<&Diagnostic> = d.iter().filter(|d| d.is_error()).collect();
    let located: Vec<(u32, u32)> = errors
        .iter()
        .map(|d| (d.line.unwrap(), d.column.unwrap()))
        .collect();
    assert_eq!(
        located,
        [
            (4, 18),
            (6, 19),
            (9, 31),
            (13, 14),
            (15, 31),
            (17, 20),
            (18, 3),
            (19, 5)
        ],
        "{d:#?}"
    );
    let flags: Vec<Option<&str>> = errors.iter().map(|d| d.flag.as_deref()).collect();
    assert_eq!(
        flags,
        [
            None,
            None,
            Some("a"),
            Some("b"),
            Some("b"),
            Some("b"),
            Some("c"),
            Some("c")
        ]
    );
}

#[test]
fn the_opening_example_of_the_rules_reference_builds() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rules.md")).unwrap();
    let start = docs.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + docs[start..].find("```").unwrap();
    let options = BuildOptions {
        tenant: None,
        version: 1,
        created_at: 0,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    let s = build("rules.md", &docs[start..end], Format::Vane, &options)
        .unwrap()
        .snapshot;
    assert_eq!(s.info.tenant, "shop");
    assert_eq!(
        eval(&s, "checkout-flow", json!({"email": "ana@shop.example"})),
        ok(json!("one-page"), "one-page", Reason::TargetingMatch)
    );
}

/// Damaged sources never panic the front end: every prefix of the shop
/// example, the example with each line removed, and with each line's
/// indentation shifted, compile to a result or to located diagnostics.
#[test]
fn damaged_sources_give_diagnostics_not_panics() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/shop.yaml"
    ))
    .unwrap();
    let check = |source: &str| {
        if let Err(diagnostics) = compile("shop.yaml", source, Format::Vane) {
            assert!(!diagnostics.is_empty());
            assert!(diagnostics.iter().any(Diagnostic::is_error));
        }
    };
    for (i, _) in text.char_indices() {
        check(&text[..i]);
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let without: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        check(&without.join("\n"));
        let mut shifted = lines.clone();
        let indented = format!(" {}", lines[skip]);
        shifted[skip] = &indented;
        check(&shifted.join("\n"));
    }
}
