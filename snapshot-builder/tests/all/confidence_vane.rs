//! Vane-YAML and flagd flags through `flags:resolve`
//! (`docs/confidence.md`, "Tenants built from Vane YAML or flagd"): each
//! answers what OFREP evaluation answers, under Confidence's names,
//! reasons and struct values; layers and holdouts keep their shares and
//! their exposures.

use serde_json::{json, Value};
use vane_resolver::confidence::{Resolution, ResolveRequest};
use vane_resolver::{Context, Snapshot};
use vane_snapshot_builder::{build, BuildOptions, Format};

const SHOP: &str = include_str!("../../../examples/shop.yaml");
const NOW: i64 = 1_796_117_400;

fn snapshot(name: &str, text: &str, format: Format) -> Snapshot {
    let options = BuildOptions {
        // flagd files name no tenant.
        tenant: (format == Format::Flagd).then(|| "t".to_owned()),
        version: 1,
        created_at: 0,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    build(name, text, format, &options)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .snapshot
}

fn resolve<'a>(snap: &'a Snapshot, request: &'a ResolveRequest) -> Resolution<'a> {
    snap.resolve_confidence("storefront-web", request, None, NOW)
        .expect("an object context")
}

fn request(flags: &[&str], context: Value) -> ResolveRequest {
    ResolveRequest {
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        evaluation_context: context,
        ..ResolveRequest::default()
    }
}

#[test]
fn every_shop_flag_answers_what_ofrep_evaluates() {
    let snap = snapshot("shop.yaml", SHOP, Format::Vane);
    let (mut reviews, mut sticky, mut held_out) = (0, 0, 0);
    const UNITS: usize = 4_000;
    for i in 0..UNITS {
        let unit = format!("user-{i}");
        let req = request(&[], json!({"targeting_key": unit, "platform": "web"}));
        let resolution = resolve(&snap, &req);
        let ofrep =
            Context::from_value(json!({"targetingKey": unit, "platform": "web"}), NOW).unwrap();
        // The disabled gift-wrapping is not listed (as a disabled
        // Confidence flag is not).
        let keys: Vec<&str> = resolution
            .flags
            .iter()
            .map(|f| f.flag.key.as_str())
            .collect();
        assert_eq!(keys.len(), 8, "{keys:?}");
        assert!(!keys.contains(&"gift-wrapping"));
        let mut exposed_in = Vec::new();
        for f in &resolution.flags {
            let key = &f.flag.key;
            let r = snap.evaluate(key, &ofrep);
            let variant = r.variant.expect("every shop flag serves a variant here");
            let value = r.value.expect("and a value");
            let wire = f.to_json();
            assert_eq!(wire["flag"], json!(format!("flags/{key}")));
            assert_eq!(
                wire["variant"],
                json!(format!("flags/{key}/variants/{variant}"))
            );
            assert_eq!(wire["reason"], "RESOLVE_REASON_MATCH", "{key} {unit}");
            let expected = if key == "recommendations" {
                value.clone()
            } else {
                json!({ "value": value })
            };
            assert_eq!(wire["value"], expected, "{key} {unit}");
            let exposure = snap.explain(key, &ofrep);
            let exposure = exposure.exposure();
            assert_eq!(
                wire["shouldApply"],
                json!(exposure.is_some()),
                "{key} {unit}"
            );
            if let Some(e) = exposure {
                match (key.as_str(), e.holdout) {
                    (_, Some("product-page-holdout")) => held_out += 1,
                    ("reviews-first", None) => reviews += 1,
                    ("sticky-buy-button", None) => sticky += 1,
                    _ => {}
                }
                if e.holdout.is_none() && key != "checkout-flow" && key != "new-search" {
                    exposed_in.push(key.clone());
                }
            }
        }
        // A layer's experiments never share a unit.
        assert!(exposed_in.len() <= 1, "{unit}: {exposed_in:?}");
    }
    // The holdout marks the 5 % of units it keeps out of an experiment that
    // would have taken them (30 % + 30 % of the layer); each experiment
    // takes 30 % of the 95 % left.
    let share = |n: usize| n as f64 / UNITS as f64;
    assert!((share(held_out) - 0.03).abs() < 0.01, "{held_out}");
    assert!((share(reviews) - 0.285).abs() < 0.025, "{reviews}");
    assert!((share(sticky) - 0.285).abs() < 0.025, "{sticky}");
}

#[test]
fn schemas_describe_every_variant() {
    let snap = snapshot("shop.yaml", SHOP, Format::Vane);
    let req = request(
        &[
            "flags/recommendations",
            "flags/free-shipping-threshold",
            "flags/new-search",
        ],
        json!({"targeting_key": "u"}),
    );
    let resolution = resolve(&snap, &req);
    let schemas: Vec<Value> = resolution
        .flags
        .iter()
        .map(|f| f.to_json()["flagSchema"].clone())
        .collect();
    assert_eq!(
        schemas,
        [
            // free-shipping-threshold: 29.9, 49, 75 are one double field.
            json!({"schema": {"value": {"doubleSchema": {}}}}),
            json!({"schema": {"value": {"boolSchema": {}}}}),
            json!({"schema": {
                "layout": {"stringSchema": {}},
                "slots": {"intSchema": {}},
                "sources": {"listSchema": {"elementSchema": {"stringSchema": {}}}}
            }}),
        ]
    );
}

#[test]
fn names_reasons_and_errors() {
    let snap = snapshot("shop.yaml", SHOP, Format::Vane);
    // Only the Confidence name lists a flag, once however often it is
    // named; the bare key lists nothing.
    let req = request(
        &[
            "new-search",
            "flags/checkout-flow",
            "flags/flags/new-search",
            "flags/checkout-flow",
        ],
        json!({}),
    );
    let resolution = resolve(&snap, &req);
    assert_eq!(resolution.flags.len(), 1);
    // No targeting key: a split cannot bucket.
    assert_eq!(
        resolution.flags[0].to_json(),
        json!({"flag": "flags/checkout-flow", "variant": "",
               "reason": "RESOLVE_REASON_TARGETING_KEY_ERROR", "shouldApply": false})
    );
    // Staff match the first rule: no split, no exposure.
    let req = request(
        &["flags/checkout-flow"],
        json!({"targeting_key": "u", "email": "a@shop.example"}),
    );
    assert_eq!(
        resolve(&snap, &req).flags[0].to_json(),
        json!({"flag": "flags/checkout-flow", "variant": "flags/checkout-flow/variants/one-page",
               "value": {"value": "one-page"}, "flagSchema": {"schema": {"value": {"stringSchema": {}}}},
               "reason": "RESOLVE_REASON_MATCH", "shouldApply": false})
    );
    // A regex test of an attribute too long to test (OFREP's
    // INVALID_CONTEXT) is an error of the flag, not of the targeting key.
    let email = format!("{}@gmail.com", "a".repeat(2_000));
    let req = request(
        &["flags/support-channel"],
        json!({"targeting_key": "u", "user": {"tier": "premium"}, "email": email}),
    );
    let ofrep = Context::from_value(
        json!({"targetingKey": "u", "user": {"tier": "premium"}, "email": email}),
        NOW,
    )
    .unwrap();
    assert_eq!(
        snap.evaluate("support-channel", &ofrep).error_code,
        Some(vane_resolver::ErrorCode::InvalidContext)
    );
    assert_eq!(
        resolve(&snap, &req).flags[0].to_json(),
        json!({"flag": "flags/support-channel", "variant": "",
               "reason": "RESOLVE_REASON_ERROR", "shouldApply": false})
    );
    // A targeting key that is not a string: every Vane flag errs on it.
    let req = request(&[], json!({"targeting_key": 5}));
    let resolution = resolve(&snap, &req);
    assert_eq!(resolution.flags.len(), 8);
    assert!(resolution
        .flags
        .iter()
        .all(|f| f.to_json()["reason"] == "RESOLVE_REASON_TARGETING_KEY_ERROR"));
}

#[test]
fn flagd_flags_without_a_default_or_with_broken_targeting() {
    let flagd = json!({"flags": {
        "no-default": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": null},
        "broken": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                   "targeting": {"invalid": [1]}}
    }});
    let snap = snapshot("f.flagd.json", &flagd.to_string(), Format::Flagd);
    let req = request(&[], json!({"targeting_key": "u"}));
    let answers: Vec<Value> = resolve(&snap, &req)
        .flags
        .iter()
        .map(|f| f.to_json())
        .collect();
    assert_eq!(
        answers,
        [
            json!({"flag": "flags/broken", "variant": "", "reason": "RESOLVE_REASON_ERROR", "shouldApply": false}),
            json!({"flag": "flags/no-default", "variant": "", "reason": "RESOLVE_REASON_NO_SEGMENT_MATCH", "shouldApply": false}),
        ]
    );
}
