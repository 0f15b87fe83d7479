//! Browser tests: wasm-bindgen-test in headless Chromium (run by
//! `scripts/browser-tests.sh`). They drive the JS bindings (`src/wasm.rs`)
//! with JS values, as a page does: compile, load, evaluate, explain,
//! inspect, errors as JS `Error`s; and they run the flagd conformance
//! vectors through the bindings with the same expectations as the native
//! runner (`tests/all/flagd_conformance.rs`, shared logic in `tests/all/flagd_vectors.rs`).
#![cfg(target_arch = "wasm32")]

#[path = "all/build_cases.rs"]
mod build_cases;
#[path = "all/flagd_vectors.rs"]
mod flagd_vectors;

use serde_json::{json, Value};
use vane_snapshot_builder::wasm::{compile_rules, Snapshot};
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const SHOP: &str = include_str!("../../examples/shop.yaml");
const MEDIA: &str = include_str!("../../examples/media.flagd.json");
const MEDIA_ACCESS: &str = include_str!("../../examples/media.access.yaml");

/// 2026-11-29T00:00:00Z: inside the shop's Black Friday window.
const BLACK_FRIDAY: f64 = 1_795_910_400.0;

/// A JSON value as a plain JS value.
fn js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("JSON.parse")
}

/// A JS value as JSON (what a page would `JSON.stringify`).
fn json(value: &JsValue) -> Value {
    let text = js_sys::JSON::stringify(value)
        .expect("JSON.stringify")
        .as_string()
        .expect("a string");
    serde_json::from_str(&text).expect("JSON")
}

fn get(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).expect("Reflect.get")
}

/// The message of the JS `Error` a binding threw.
fn thrown(error: JsError) -> String {
    let value = JsValue::from(error);
    let error: &js_sys::Error = value.dyn_ref().expect("a JS Error");
    String::from(error.message())
}

fn ok<T>(result: Result<T, JsError>) -> T {
    result.unwrap_or_else(|e| panic!("threw: {}", thrown(e)))
}

/// Compiles through the binding; returns the output object.
fn compile(source: &str, options: Value) -> JsValue {
    ok(compile_rules(source, js(&options)))
}

/// The `snapshot` of a successful compile output.
fn compiled_snapshot(output: &JsValue) -> Snapshot {
    Snapshot::try_from_js_value(get(output, "snapshot")).expect("a Snapshot")
}

fn shop() -> Snapshot {
    compiled_snapshot(&compile(
        SHOP,
        json!({"fileName": "shop.yaml", "version": 3, "createdAt": 100}),
    ))
}

#[wasm_bindgen_test]
fn compiles_vane_yaml_and_loads_the_bytes() {
    let output = compile(
        SHOP,
        json!({"fileName": "shop.yaml", "version": 3, "createdAt": 100}),
    );
    assert_eq!(get(&output, "ok"), JsValue::TRUE);
    assert_eq!(json(&get(&output, "diagnostics")), json!([]));
    let bytes: js_sys::Uint8Array = get(&output, "bytes").dyn_into().expect("a Uint8Array");
    let loaded = ok(Snapshot::from_bytes(&bytes.to_vec()));
    let info = json(&ok(loaded.info()));
    assert_eq!(info["tenant"], "shop");
    assert_eq!(info["version"], 3);
    assert_eq!(info["createdAt"], 100);
    assert_eq!(info["byteSize"], bytes.length());
    assert_eq!(info["bucketingVersion"], 1);
    assert_eq!(info["digest"].as_str().map(str::len), Some(64));
    // The snapshot handed back by compile is the same snapshot.
    assert_eq!(json(&ok(compiled_snapshot(&output).info())), info);
    assert_eq!(
        loaded.flag_keys(),
        [
            "black-friday-banner",
            "checkout-flow",
            "free-shipping-threshold",
            "gift-wrapping",
            "new-search",
            "recommendations",
            "reviews-first",
            "sticky-buy-button",
            "support-channel"
        ]
    );
}

#[wasm_bindgen_test]
fn evaluates_one_flag_to_the_ofrep_object() {
    let snapshot = shop();
    let context = js(&json!({"targetingKey": "user-1", "email": "ana@shop.example"}));
    let result = ok(snapshot.evaluate("checkout-flow", context, Some(BLACK_FRIDAY)));
    assert_eq!(
        json(&result),
        json!({"key": "checkout-flow", "value": "one-page", "reason": "TARGETING_MATCH",
               "variant": "one-page",
               "metadata": {"experiment": "CHK-2026-01", "flagSetId": "shop-storefront",
                            "owner": "payments"}})
    );
    let missing = ok(snapshot.evaluate("nope", JsValue::UNDEFINED, None));
    assert_eq!(json(&missing)["errorCode"], "FLAG_NOT_FOUND");
}

#[wasm_bindgen_test]
fn evaluates_every_flag_and_honours_the_time() {
    let snapshot = shop();
    let context = js(&json!({"targetingKey": "user-1", "plan": "pro", "country": "DE"}));
    let during = json(&ok(
        snapshot.evaluate_all(context.clone(), Some(BLACK_FRIDAY))
    ));
    assert_eq!(during["metadata"], json!({"flagSetId": "shop-storefront"}));
    let flags = during["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 9);
    let by_key = |body: &Value, key: &str| {
        body["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_key(&during, "black-friday-banner")["value"], true);
    assert_eq!(by_key(&during, "free-shipping-threshold")["value"], 29.9);
    assert_eq!(by_key(&during, "gift-wrapping")["reason"], "DISABLED");
    let after = json(&ok(
        snapshot.evaluate_all(context, Some(BLACK_FRIDAY + 5.0 * 86_400.0))
    ));
    assert_eq!(by_key(&after, "black-friday-banner")["value"], false);
    assert_eq!(by_key(&after, "black-friday-banner")["reason"], "DEFAULT");
}

#[wasm_bindgen_test]
fn explains_which_rule_served_and_where_the_split_cut() {
    let snapshot = shop();
    let context = js(&json!({"targetingKey": "user-7", "email": "bo@example.org"}));
    let explanation = json(&ok(snapshot.explain(
        "checkout-flow",
        context.clone(),
        Some(BLACK_FRIDAY),
    )));
    let evaluated = json(&ok(snapshot.evaluate(
        "checkout-flow",
        context,
        Some(BLACK_FRIDAY),
    )));
    assert_eq!(explanation["result"], evaluated);
    assert_eq!(explanation["result"]["reason"], "SPLIT");
    assert_eq!(explanation["snapshot"]["version"], 3);
    assert_eq!(explanation["targeting"], "rules");
    let rules = explanation["rules"].as_array().unwrap();
    assert_eq!(rules[0]["outcome"], "conditionFalse");
    assert_eq!(
        rules[0]["reads"],
        json!([{"path": "email", "value": "bo@example.org"}])
    );
    assert_eq!(rules[1]["outcome"], "matched");
    let split = &rules[1]["serves"]["split"];
    assert_eq!(split["salt"], "checkout-2026");
    assert_eq!(split["bucketBy"], "targetingKey");
    assert_eq!(
        split["cuts"],
        json!([{"variant": "classic", "weight": 50, "from": 0, "to": 50},
               {"variant": "one-page", "weight": 50, "from": 50, "to": 100}])
    );
    let placement = &rules[1]["placement"];
    assert_eq!(placement["unit"], "user-7");
    let bucket = placement["bucket"].as_u64().unwrap();
    let cut = &split["cuts"][placement["cut"].as_u64().unwrap() as usize];
    assert!(cut["from"].as_u64().unwrap() <= bucket && bucket < cut["to"].as_u64().unwrap());
    assert_eq!(cut["variant"], evaluated["variant"]);
}

/// The binding reports exactly the diagnostics of the library's one build
/// (which `vane check` runs too; `tests/all/cli.rs` checks that side).
#[wasm_bindgen_test]
fn compile_reports_what_the_library_build_reports() {
    use build_cases::{cases, expected, BUILD_TIME};
    for case in cases() {
        let mut options =
            json!({"fileName": case.file, "version": BUILD_TIME, "createdAt": BUILD_TIME});
        if let Some(tenant) = case.tenant {
            options["tenant"] = json!(tenant);
        }
        if let Some(access) = &case.access {
            options["access"] = json!(access);
        }
        let output = compile(&case.text, options);
        let (diagnostics, failed) = expected(&case, case.file, "access.yaml");
        assert_eq!(
            json(&get(&output, "diagnostics")),
            serde_json::to_value(&diagnostics).unwrap(),
            "{}",
            case.name
        );
        assert_eq!(
            get(&output, "ok"),
            JsValue::from_bool(!failed),
            "{}",
            case.name
        );
    }
}

#[wasm_bindgen_test]
fn a_broken_rule_gives_located_diagnostics_not_a_snapshot() {
    let broken = SHOP.replacen("default: classic", "default: classik", 1);
    let line = broken[..broken.find("classik").unwrap()].lines().count();
    let output = compile(&broken, json!({"fileName": "shop.yaml"}));
    assert_eq!(get(&output, "ok"), JsValue::FALSE);
    assert!(get(&output, "snapshot").is_undefined());
    let diagnostics = json(&get(&output, "diagnostics"));
    assert_eq!(
        diagnostics,
        json!([{"severity": "error", "file": "shop.yaml", "line": line, "column": 14,
                "flag": "checkout-flow", "path": "flags.checkout-flow.default",
                "message": "unknown variant 'classik'; variants: classic, one-page"}])
    );
}

#[wasm_bindgen_test]
fn flagd_sources_need_a_tenant_and_the_format_can_be_forced() {
    let without = compile(MEDIA, json!({"fileName": "media.flagd.json"}));
    assert_eq!(get(&without, "ok"), JsValue::FALSE);
    let message = json(&get(&without, "diagnostics"))[0]["message"].clone();
    assert!(message.as_str().unwrap().contains("no tenant"), "{message}");

    let with = compile(MEDIA, json!({"format": "flagd", "tenant": "media"}));
    assert_eq!(get(&with, "ok"), JsValue::TRUE);
    let snapshot = compiled_snapshot(&with);
    assert_eq!(json(&ok(snapshot.info()))["tenant"], "media");
    let inspection = json(&ok(snapshot.inspect()));
    assert_eq!(inspection["metadata"]["flagSetId"], "media-streaming");
    // flagd targeting is JsonLogic, or typed rules where the builder
    // proves them equivalent (flagd/lower.rs).
    let kinds: Vec<&str> = inspection["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["targeting"].as_str().unwrap())
        .collect();
    assert!(
        kinds
            .iter()
            .all(|k| ["jsonLogic", "rules", "static"].contains(k)),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"rules"), "{kinds:?}");
    assert_eq!(inspection["clients"], json!([]));

    // An access file adds clients and origins, as `vane build --access`.
    let with_access = compile(
        MEDIA,
        json!({"fileName": "media.flagd.json", "tenant": "media", "access": MEDIA_ACCESS}),
    );
    let inspection = json(&ok(compiled_snapshot(&with_access).inspect()));
    assert_eq!(
        inspection["clients"],
        json!([{"name": "tv-app", "keys": 1}, {"name": "web-player", "keys": 1}])
    );
    assert_eq!(
        inspection["corsOrigins"],
        json!(["http://localhost:8080", "https://watch.media.example"])
    );
    // The access file names the tenant the options contradict.
    let clash = compile(
        MEDIA,
        json!({"fileName": "media.flagd.json", "tenant": "other", "access": MEDIA_ACCESS}),
    );
    assert_eq!(get(&clash, "ok"), JsValue::FALSE);
    let message = json(&get(&clash, "diagnostics"))[0]["message"].clone();
    assert_eq!(
        message,
        "the file is for tenant 'media' but --tenant says 'other'"
    );
}

#[wasm_bindgen_test]
fn inspect_shows_flags_clients_and_origins_but_no_key_digests() {
    let inspection = json(&ok(shop().inspect()));
    assert_eq!(
        inspection["clients"],
        json!([{"name": "order-service", "keys": 1}, {"name": "storefront-web", "keys": 1}])
    );
    assert_eq!(
        inspection["corsOrigins"],
        // Sorted at build time.
        json!([
            "http://localhost:8080",
            "https://shop.example",
            "https://www.shop.example"
        ])
    );
    let gift = inspection["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "gift-wrapping")
        .unwrap()
        .clone();
    assert_eq!(gift["disabled"], true);
    assert_eq!(gift["defaultVariant"], "off");
    assert_eq!(
        gift["variants"],
        json!([{"name": "on", "value": true}, {"name": "off", "value": false}])
    );
    assert!(
        !inspection.to_string().contains("78932a41"),
        "no key digest"
    );
}

#[wasm_bindgen_test]
fn errors_are_js_errors_with_the_resolvers_message() {
    let not_cbor = Snapshot::from_bytes(b"not a snapshot")
        .map(|_| ())
        .unwrap_err();
    assert!(thrown(not_cbor).starts_with("not a Vane snapshot envelope"));

    let output = compile(SHOP, json!({"fileName": "shop.yaml"}));
    let mut bytes = get(&output, "bytes")
        .dyn_into::<js_sys::Uint8Array>()
        .unwrap()
        .to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1; // inside the body: the digest no longer matches
    let tampered = Snapshot::from_bytes(&bytes).map(|_| ()).unwrap_err();
    assert!(thrown(tampered).starts_with("snapshot digest mismatch"));

    let snapshot = shop();
    let array = snapshot
        .evaluate("checkout-flow", js(&json!([1, 2])), None)
        .unwrap_err();
    assert_eq!(thrown(array), "context must be a JSON object, found array");
    let key = snapshot
        .evaluate_all(js(&json!({"targetingKey": 5})), None)
        .unwrap_err();
    assert_eq!(thrown(key), "targetingKey must be a string");
    let time = snapshot
        .explain("checkout-flow", JsValue::UNDEFINED, Some(f64::NAN))
        .unwrap_err();
    assert_eq!(thrown(time), "now must be Unix seconds, got NaN");

    let format = compile_rules(SHOP, js(&json!({"format": "toml"}))).unwrap_err();
    assert_eq!(
        thrown(format),
        "unknown format \"toml\": use \"vane\" or \"flagd\""
    );
    let field = compile_rules(SHOP, js(&json!({"tenants": "x"}))).unwrap_err();
    assert!(thrown(field).starts_with("compile options: unknown field `tenants`"));
}

#[wasm_bindgen_test]
fn flagd_conformance_vectors_pass_in_the_browser() {
    use flagd_vectors::{failures, MISSING_EVALUATOR_FLAG, NOW, TENANT, TESTKIT_FLAGS, VECTORS};

    // Really in the browser, not in Node.
    let agent = get(&get(&js_sys::global(), "navigator"), "userAgent");
    assert!(agent.as_string().unwrap().contains("Chrome"), "{agent:?}");

    let output = compile(
        TESTKIT_FLAGS,
        json!({"fileName": "testkit-flags.json", "tenant": TENANT, "version": 1, "createdAt": 0}),
    );
    assert_eq!(get(&output, "ok"), JsValue::TRUE);
    let warnings = json(&get(&output, "diagnostics"));
    assert!(
        warnings
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["flag"] == MISSING_EVALUATOR_FLAG
                && w["message"]
                    .as_str()
                    .unwrap()
                    .contains("nonexistent_evaluator")),
        "{warnings}"
    );
    let snapshot = compiled_snapshot(&output);
    let failures = failures(|flag, context| {
        snapshot
            .evaluate(flag, js(context), Some(NOW as f64))
            .map(|result| json(&result))
            .map_err(thrown)
    });
    assert!(
        failures.is_empty(),
        "{} of {VECTORS} vectors failed in the browser:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
