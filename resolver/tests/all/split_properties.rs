//! Statistical and robustness properties of splits and snapshot decoding,
//! on IR built directly (no rule source involved).

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use vane_resolver::model::{Body, Client, Flag, Rule, Serve, Split, Targeting, Variant};
use vane_resolver::{Context, Reason, Snapshot};

fn split_flag(weights: &[(u32, u32)]) -> Flag {
    Flag {
        key: "checkout".into(),
        variants: vec![
            Variant {
                name: "control".into(),
                value: json!("control"),
            },
            Variant {
                name: "treatment".into(),
                value: json!("treatment"),
            },
        ],
        default_variant: Some(0),
        disabled: false,
        targeting: Targeting::Rules(vec![Rule {
            when: None,
            serve: Serve::Split(Split {
                bucket_by: None,
                salt: "checkout".into(),
                weights: weights.to_vec(),
            }),
            active_from: None,
            active_until: None,
        }]),
        metadata: Map::new(),
    }
}

fn snapshot(flags: Vec<Flag>) -> Snapshot {
    let body = Body {
        flags,
        clients: vec![Client {
            name: "web".into(),
            key_digests: vec![],
        }],
        cors_origins: vec![],
        metadata: Map::new(),
        spaces: Vec::new(),
        exposure_log: Default::default(),
    };
    Snapshot::from_bytes(&Snapshot::encode("t", 1, 0, "test", &body).unwrap()).unwrap()
}

fn variant_of(s: &Snapshot, key: &str) -> String {
    let ctx = Context::from_value(json!({ "targetingKey": key }), 0).unwrap();
    let r = s.evaluate("checkout", &ctx);
    assert_eq!(r.reason, Reason::Split, "{r:?}");
    r.variant.unwrap().to_owned()
}

const UNITS: usize = 100_000;

#[test]
fn fifty_fifty_split_is_within_one_percent_over_100k_keys() {
    let s = snapshot(vec![split_flag(&[(0, 50), (1, 50)])]);
    let treatment = (0..UNITS)
        .filter(|i| variant_of(&s, &format!("user-{i}")) == "treatment")
        .count();
    let share = treatment as f64 / UNITS as f64;
    assert!((share - 0.5).abs() <= 0.01, "treatment share {share}");
}

#[test]
fn moving_ten_percent_of_weight_moves_about_ten_percent_of_keys() {
    let before = snapshot(vec![split_flag(&[(0, 50), (1, 50)])]);
    let after = snapshot(vec![split_flag(&[(0, 40), (1, 60)])]);
    let mut moved = 0usize;
    for i in 0..UNITS {
        let key = format!("user-{i}");
        let (a, b) = (variant_of(&before, &key), variant_of(&after, &key));
        if a != b {
            // Only control → treatment may happen: cut points are shared.
            assert_eq!((a.as_str(), b.as_str()), ("control", "treatment"), "{key}");
            moved += 1;
        }
    }
    let share = moved as f64 / UNITS as f64;
    assert!((0.09..=0.11).contains(&share), "moved share {share}");
}

#[test]
fn split_without_targeting_key_is_targeting_key_missing() {
    let s = snapshot(vec![split_flag(&[(0, 50), (1, 50)])]);
    let r = s.evaluate("checkout", &Context::empty(0));
    assert_eq!(
        r.error_code,
        Some(vane_resolver::ErrorCode::TargetingKeyMissing)
    );
    assert_eq!(r.value, None);
}

/// The envelope as a test can write it with any body bytes and digest.
#[derive(serde::Serialize)]
struct RawEnvelope {
    format: &'static str,
    format_version: u32,
    tenant: &'static str,
    version: u64,
    created_at: u64,
    builder: &'static str,
    bucketing: u32,
    #[serde(with = "serde_bytes")]
    digest: Vec<u8>,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
}

fn envelope_around(body: Vec<u8>) -> Vec<u8> {
    let env = RawEnvelope {
        format: "vane-snapshot",
        format_version: 1,
        tenant: "t",
        version: 1,
        created_at: 0,
        builder: "test",
        bucketing: 1,
        digest: vane_resolver::snapshot::sha256(&body).to_vec(),
        body,
    };
    let mut out = Vec::new();
    ciborium::into_writer(&env, &mut out).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Snapshot::from_bytes(&bytes);
    }

    #[test]
    fn arbitrary_body_with_a_valid_digest_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Snapshot::from_bytes(&envelope_around(body));
    }

    #[test]
    fn any_single_byte_flip_is_refused_or_harmless(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let good = Snapshot::encode("t", 1, 0, "test", &Body {
            flags: vec![split_flag(&[(0, 50), (1, 50)])],
            clients: vec![],
            cors_origins: vec![],
            metadata: Map::new(),
            spaces: Vec::new(),
            exposure_log: Default::default(),
        }).unwrap();
        let mut bad = good.clone();
        let i = index.index(bad.len());
        bad[i] ^= 1 << bit;
        // A flip inside the body or digest must be caught by the digest check;
        // a flip elsewhere may change an envelope field but never panics.
        if let Ok(s) = Snapshot::from_bytes(&bad) {
            let original = Snapshot::from_bytes(&good).unwrap();
            prop_assert_eq!(s.to_body(), original.to_body());
        }
    }

    #[test]
    fn corrupted_valid_cbor_bodies_never_panic(
        flip in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
    ) {
        let mut body = Vec::new();
        ciborium::into_writer(&Body {
            flags: vec![split_flag(&[(0, 50), (1, 50)])],
            clients: vec![],
            cors_origins: vec!["https://shop.example".into()],
            metadata: Map::new(),
            spaces: Vec::new(),
            exposure_log: Default::default(),
        }, &mut body).unwrap();
        for (i, b) in flip {
            let i = i.index(body.len());
            body[i] = b;
        }
        if let Ok(s) = Snapshot::from_bytes(&envelope_around(body)) {
            // Whatever decoded must still evaluate totally.
            let ctx = Context::from_value(json!({"targetingKey": "u"}), 0).unwrap();
            for f in s.flags() {
                let _ = s.evaluate(&f.key, &ctx);
            }
        }
    }
}

#[test]
fn json_values_survive_the_codec() {
    let values = [
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(-0.5),
        json!("emoji 😀 and NUL \u{0}"),
        json!({"nested": {"deep": [1, 2.5, null, true]}}),
    ];
    let flag = Flag {
        key: "v".into(),
        variants: values
            .iter()
            .enumerate()
            .map(|(i, v)| Variant {
                name: format!("v{i}"),
                value: v.clone(),
            })
            .collect(),
        default_variant: Some(0),
        disabled: false,
        targeting: Targeting::Static,
        metadata: Map::new(),
    };
    let s = snapshot(vec![flag]);
    let got: Vec<Value> = s.to_body().flags[0]
        .variants
        .iter()
        .map(|v| v.value.clone())
        .collect();
    assert_eq!(got, values);
}

#[test]
fn numeric_bucketing_units_bucket_alike_however_they_are_spelled() {
    let mut flag = split_flag(&[(0, 50), (1, 50)]);
    if let Targeting::Rules(rules) = &mut flag.targeting {
        if let Serve::Split(split) = &mut rules[0].serve {
            split.bucket_by = Some(vec!["n".into()]);
        }
    }
    let s = snapshot(vec![flag]);
    let variant = |n: Value| {
        let ctx = Context::from_value(json!({ "n": n }), 0).unwrap();
        s.evaluate("checkout", &ctx).variant.unwrap().to_owned()
    };
    for (a, b) in [
        (json!(1), json!(1.0)),
        (json!(0), json!(-0.0)),
        (json!(12345678), json!(12345678.0)),
    ] {
        assert_eq!(variant(a.clone()), variant(b.clone()), "{a} vs {b}");
    }
    // Distinct numbers still spread: 1..=200 do not all land together.
    let treatment = (1..=200)
        .filter(|i| variant(json!(i)) == "treatment")
        .count();
    assert!((60..=140).contains(&treatment), "{treatment}");
}

#[test]
fn envelopes_with_trailing_bytes_or_bad_tenants_are_refused_with_plain_messages() {
    let body = Body {
        flags: vec![split_flag(&[(0, 50), (1, 50)])],
        clients: vec![],
        cors_origins: vec![],
        metadata: Map::new(),
        spaces: Vec::new(),
        exposure_log: Default::default(),
    };
    let mut bytes = Snapshot::encode("t", 1, 0, "test", &body).unwrap();
    assert!(Snapshot::from_bytes(&bytes).is_ok());
    bytes.push(0);
    let err = Snapshot::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("1 unexpected bytes after the end"), "{err}");

    let bad_tenant = Snapshot::encode("S/p", 1, 0, "test", &body).unwrap();
    let err = Snapshot::from_bytes(&bad_tenant).unwrap_err().to_string();
    assert!(err.contains("\"S/p\" is not a tenant name"), "{err}");

    let good = Snapshot::encode("t", 1, 0, "test", &body).unwrap();
    let err = Snapshot::from_bytes(&good[..good.len() / 2])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "not a Vane snapshot envelope: the data ends early");
}

/// Split weights are checked at decode, naming the flag: in a hand-made
/// snapshot they could add up past `u32::MAX` (the bucket arithmetic
/// `hash * total >> 32` would overflow) or serve a variant the flag lacks.
#[test]
fn split_weights_that_overflow_or_name_no_variant_are_refused_at_decode() {
    let body = |weights: &[(u32, u32)]| Body {
        flags: vec![split_flag(weights)],
        clients: vec![],
        cors_origins: vec![],
        metadata: Map::new(),
        spaces: Vec::new(),
        exposure_log: Default::default(),
    };
    let refused = |weights: &[(u32, u32)]| {
        Snapshot::from_bytes(&Snapshot::encode("t", 1, 0, "test", &body(weights)).unwrap())
            .unwrap_err()
            .to_string()
    };
    let cases: &[(&[(u32, u32)], &str)] = &[
        (
            &[(0, u32::MAX), (1, 1)],
            "flag 'checkout': rule 0's split weights add up to 4294967296, more than 4294967295",
        ),
        (
            &[(0, u32::MAX), (1, u32::MAX)],
            "flag 'checkout': rule 0's split weights add up to 8589934590, more than 4294967295",
        ),
        (
            &[(0, 1), (2, 1)],
            "flag 'checkout': rule 0's split serves variant 2, but the flag has 2 variants",
        ),
    ];
    for (weights, message) in cases {
        let err = refused(weights);
        assert!(err.contains(message), "{weights:?}: {err}");
    }
    // The largest total that fits still decodes and evaluates.
    let s = snapshot(vec![split_flag(&[(0, u32::MAX - 1), (1, 1)])]);
    assert_eq!(variant_of(&s, "user-1"), "control");
}
