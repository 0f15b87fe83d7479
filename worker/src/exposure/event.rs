//! The exposure event, schema version 1 (`docs/exposures.md`, JSON Schema
//! `docs/exposure-event.v1.schema.json`), and the seam every source of
//! exposures calls: [`events`] turns what was served in one request
//! ([`Served`]) plus the request's facts ([`RequestMeta`]) into events.
//!
//! The event id is deterministic (see [`event_id`]), so the same assignment
//! delivered twice — a retried queue message, an apply sent twice — is the
//! same event, and every consumer can deduplicate on it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::time::Utc;

/// The `schema` value of every event this module writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Where an exposure was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Source {
    /// An OFREP single-flag evaluation served by a split.
    #[serde(rename = "ofrep")]
    Ofrep,
    /// A Confidence `flags:apply`.
    #[serde(rename = "confidence-apply")]
    ConfidenceApply,
    /// A Confidence `flags:resolve` with `apply: true`.
    #[serde(rename = "confidence-resolve")]
    ConfidenceResolve,
}

/// A variant's weight in the allocation that served, as served: the
/// expected share of the variant is `weight / sum of weights`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weight {
    /// Variant name.
    pub variant: String,
    /// Its weight (Vane split weight, or a Confidence assignment's bucket
    /// count); 0 for a variant that should never be served.
    pub weight: u64,
}

/// One exposure event, schema 1. Field order is the JSON order.
///
/// A reader of schema 1 ignores fields it does not know (serde's default,
/// tested below): later writers may add fields without a new schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Always [`SCHEMA_VERSION`].
    pub schema: u32,
    /// 32 lowercase hex digits, [`event_id`] of the fields it names.
    pub event_id: String,
    /// Tenant name.
    pub tenant: String,
    /// Where the exposure was recorded.
    pub source: Source,
    /// Flag key.
    pub flag: String,
    /// Variant served.
    pub variant: String,
    /// The reason reported to the caller (OpenFeature `SPLIT` on OFREP,
    /// Confidence `RESOLVE_REASON_MATCH`).
    pub reason: String,
    /// The rule or assignment that served, unique within the flag and
    /// snapshot: `rules[1]` for a Vane rule, the Confidence rule and
    /// assignment ids for a Confidence flag.
    pub assignment: String,
    /// The bucketing unit's value.
    pub unit: String,
    /// Where the unit came from: `targetingKey`, or the attribute path
    /// (dot-joined) the split buckets by.
    pub unit_source: String,
    /// Id of the evaluation that served: a per-request id for OFREP, the
    /// Confidence resolve id for applies and resolves.
    pub resolve_id: String,
    /// Version of the snapshot that served.
    pub snapshot_version: u64,
    /// sha256 of that snapshot's body, 64 lowercase hex digits.
    pub snapshot_digest: String,
    /// The allocation that served, every variant with its weight.
    pub weights: Vec<Weight>,
    /// Name of the client whose key made the request, if known.
    pub client: Option<String>,
    /// The SDK that made the request, if it said (see `docs/exposures.md`).
    pub sdk: Option<String>,
    /// When the edge evaluated the flag, RFC 3339 UTC with milliseconds.
    pub evaluated_at: String,
    /// When the app used the value, RFC 3339 UTC with milliseconds (the
    /// evaluation time for OFREP; the skew-corrected apply time for
    /// Confidence applies).
    pub exposed_at: String,
    /// Context attributes the flag's rules opted in, by name; absent when
    /// none.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// The holdout that kept the unit out of the experiment, when a holdout
    /// rule served (`docs/exposures.md`, "Holdouts"); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<String>,
    /// `true` for a Confidence fall-through: the unit fell through the
    /// rule and assignment named in `assignment`, and `variant` is what a
    /// later rule served (`docs/exposures.md`, "Confidence fall-throughs");
    /// absent otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fallthrough: bool,
}

/// The facts of one request that every event it yields shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    /// Tenant name.
    pub tenant: String,
    /// Where the exposures were recorded.
    pub source: Source,
    /// Id of the evaluation (see [`Event::resolve_id`]).
    pub resolve_id: String,
    /// Snapshot version that served.
    pub snapshot_version: u64,
    /// Snapshot digest, lowercase hex.
    pub snapshot_digest: String,
    /// Client name of the caller's key.
    pub client: Option<String>,
    /// The caller's SDK.
    pub sdk: Option<String>,
    /// Evaluation time, Unix milliseconds.
    pub evaluated_at_ms: u64,
}

/// One assignment an app used: what was served, by which rule or
/// assignment, to which unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// Flag key.
    pub flag: String,
    /// Variant served.
    pub variant: String,
    /// Reason reported to the caller.
    pub reason: String,
    /// The rule or assignment that served (see [`Event::assignment`]).
    pub assignment: String,
    /// The unit's value.
    pub unit: String,
    /// Where the unit came from (see [`Event::unit_source`]).
    pub unit_source: String,
    /// The allocation as served.
    pub weights: Vec<Weight>,
    /// When the app used the value, Unix milliseconds.
    pub exposed_at_ms: u64,
    /// Opted-in context attributes.
    pub attributes: Map<String, Value>,
    /// The holdout that served, if one did (see [`Event::holdout`]).
    pub holdout: Option<String>,
    /// A fall-through (see [`Event::fallthrough`]).
    pub fallthrough: bool,
}

/// The events of one request: one per served assignment, in order, with
/// deterministic ids.
pub fn events(meta: &RequestMeta, served: impl IntoIterator<Item = Served>) -> Vec<Event> {
    let evaluated_at = Utc::from_unix_ms(meta.evaluated_at_ms).rfc3339();
    served
        .into_iter()
        .map(|s| Event {
            schema: SCHEMA_VERSION,
            event_id: event_id(
                &meta.tenant,
                &s.unit,
                &s.flag,
                &s.variant,
                &s.assignment,
                &meta.resolve_id,
            ),
            tenant: meta.tenant.clone(),
            source: meta.source,
            flag: s.flag,
            variant: s.variant,
            reason: s.reason,
            assignment: s.assignment,
            unit: s.unit,
            unit_source: s.unit_source,
            resolve_id: meta.resolve_id.clone(),
            snapshot_version: meta.snapshot_version,
            snapshot_digest: meta.snapshot_digest.clone(),
            weights: s.weights,
            client: meta.client.clone(),
            sdk: meta.sdk.clone(),
            evaluated_at: evaluated_at.clone(),
            exposed_at: Utc::from_unix_ms(s.exposed_at_ms).rfc3339(),
            attributes: s.attributes,
            holdout: s.holdout,
            fallthrough: s.fallthrough,
        })
        .collect()
}

/// The opted-in context attributes of an event (`docs/exposures.md`, "What
/// a tenant controls"): for each path the flag names, the value the
/// context holds there, keyed by the dot-joined path. Only a string,
/// number or boolean is copied: a path the context lacks, holds `null` at,
/// or holds an object or array at (whose members are attributes the flag
/// did not name) is left out; nothing else is copied.
pub fn opted_attributes(
    paths: &[vane_resolver::expr::Path],
    context: &vane_resolver::Context,
) -> Map<String, Value> {
    paths
        .iter()
        .filter_map(|p| match context.lookup(p) {
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                Some((p.join("."), v.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The event id: the first 16 bytes, as lowercase hex, of the sha256 of
/// `vane-exposure-v1` and the six fields, each preceded by its length as a
/// 4-byte big-endian integer (so no two field lists share an encoding).
pub fn event_id(
    tenant: &str,
    unit: &str,
    flag: &str,
    variant: &str,
    assignment: &str,
    resolve_id: &str,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"vane-exposure-v1");
    for field in [tenant, unit, flag, variant, assignment, resolve_id] {
        hasher.update((field.len() as u32).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    let hash = hasher.finalize();
    vane_resolver::snapshot::hex(hash.get(..16).unwrap_or_default())
}

/// The time an app used a Confidence value, on the edge's clock: the
/// request's arrival minus how long before sending the client applied it
/// (`send_ms - apply_ms`, both client clock), so a client clock that is off
/// does not move the exposure. An apply time after the send time counts as
/// the send time. All values Unix milliseconds.
pub fn skew_corrected(received_ms: u64, send_ms: u64, apply_ms: u64) -> u64 {
    received_ms.saturating_sub(send_ms.saturating_sub(apply_ms))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A request of tenant `shop` at 2026-12-01T09:30:00.123Z.
    pub(crate) fn meta(resolve_id: &str) -> RequestMeta {
        RequestMeta {
            tenant: "shop".into(),
            source: Source::Ofrep,
            resolve_id: resolve_id.into(),
            snapshot_version: 7,
            snapshot_digest: "ab".repeat(32),
            client: Some("order-service".into()),
            sdk: Some("curl/8.5".into()),
            evaluated_at_ms: 1_796_117_400_123,
        }
    }

    /// Unit `unit` served `variant` of `checkout-flow`'s 50/50 split.
    pub(crate) fn served(unit: &str, variant: &str) -> Served {
        Served {
            flag: "checkout-flow".into(),
            variant: variant.into(),
            reason: "SPLIT".into(),
            assignment: "rules[1]".into(),
            unit: unit.into(),
            unit_source: "targetingKey".into(),
            weights: vec![
                Weight {
                    variant: "classic".into(),
                    weight: 50,
                },
                Weight {
                    variant: "one-page".into(),
                    weight: 50,
                },
            ],
            exposed_at_ms: 1_796_117_400_123,
            attributes: Map::new(),
            holdout: None,
            fallthrough: false,
        }
    }

    #[test]
    fn event_json_is_schema_1() {
        let e = &events(&meta("r-1"), [served("user-1", "classic")])[0];
        assert_eq!(
            serde_json::to_value(e).unwrap(),
            json!({
                "schema": 1,
                "event_id": event_id("shop", "user-1", "checkout-flow", "classic", "rules[1]", "r-1"),
                "tenant": "shop",
                "source": "ofrep",
                "flag": "checkout-flow",
                "variant": "classic",
                "reason": "SPLIT",
                "assignment": "rules[1]",
                "unit": "user-1",
                "unit_source": "targetingKey",
                "resolve_id": "r-1",
                "snapshot_version": 7,
                "snapshot_digest": "ab".repeat(32),
                "weights": [{"variant": "classic", "weight": 50}, {"variant": "one-page", "weight": 50}],
                "client": "order-service",
                "sdk": "curl/8.5",
                "evaluated_at": "2026-12-01T09:30:00.123Z",
                "exposed_at": "2026-12-01T09:30:00.123Z",
            })
        );
    }

    #[test]
    fn event_id_is_deterministic_and_separates_fields() {
        let id = event_id("shop", "u", "f", "v", "rules[0]", "r");
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(id, event_id("shop", "u", "f", "v", "rules[0]", "r"));
        // Moving a character across a field boundary changes the id.
        assert_ne!(id, event_id("shop", "uf", "", "v", "rules[0]", "r"));
        for other in [
            event_id("media", "u", "f", "v", "rules[0]", "r"),
            event_id("shop", "u2", "f", "v", "rules[0]", "r"),
            event_id("shop", "u", "g", "v", "rules[0]", "r"),
            event_id("shop", "u", "f", "w", "rules[0]", "r"),
            event_id("shop", "u", "f", "v", "rules[1]", "r"),
            event_id("shop", "u", "f", "v", "rules[0]", "r2"),
        ] {
            assert_ne!(id, other);
        }
        // Times and snapshot facts are not part of the identity: a
        // re-delivery made later is the same event.
        let mut later = meta("r");
        later.evaluated_at_ms += 5_000;
        let a = &events(&meta("r"), [served("u", "classic")])[0];
        let b = &events(&later, [served("u", "classic")])[0];
        assert_eq!(a.event_id, b.event_id);
    }

    #[test]
    fn a_v1_reader_ignores_unknown_fields() {
        let e = events(&meta("r-1"), [served("user-1", "one-page")]).remove(0);
        let mut json = serde_json::to_value(&e).unwrap();
        json["region"] = json!("eu-west");
        json["weights"][0]["label"] = json!("control");
        json["experiment"] = json!({"id": "CHK-2026-01", "phase": 2});
        let read: Event = serde_json::from_value(json).unwrap();
        assert_eq!(read, e);
    }

    #[test]
    fn attributes_appear_only_when_opted_in() {
        let mut s = served("user-1", "classic");
        s.attributes.insert("country".into(), json!("DE"));
        let e = &events(&meta("r"), [s])[0];
        assert_eq!(
            serde_json::to_value(e).unwrap()["attributes"],
            json!({"country": "DE"})
        );
        let plain = &events(&meta("r"), [served("user-1", "classic")])[0];
        assert!(serde_json::to_value(plain)
            .unwrap()
            .get("attributes")
            .is_none());
    }

    #[test]
    fn only_the_opted_in_attributes_are_copied() {
        let context = vane_resolver::Context::from_value(
            json!({
                "targetingKey": "u", "country": "DE", "email": "a@b.example",
                "app": {"version": "2.1.0", "build": 7}, "plan": null
            }),
            0,
        )
        .unwrap();
        let paths: Vec<Vec<String>> = [
            &["country"][..],
            &["app", "version"],
            &["plan"],
            &["missing"],
        ]
        .iter()
        .map(|p| p.iter().map(|s| s.to_string()).collect())
        .collect();
        assert_eq!(
            Value::Object(opted_attributes(&paths, &context)),
            json!({"country": "DE", "app.version": "2.1.0"})
        );
        assert!(opted_attributes(&[], &context).is_empty());
    }

    #[test]
    fn an_object_or_array_at_an_opted_in_path_is_left_out() {
        // Its members are attributes the flag did not name: a client that
        // sends `country: {email: …}` must not get the email stored.
        let context = vane_resolver::Context::from_value(
            json!({
                "targetingKey": "u",
                "country": {"email": "a@b.example", "nested": {"ssn": "1"}},
                "app": {"version": ["2.1.0", {"token": "t"}]},
                "beta": true, "score": 1.5
            }),
            0,
        )
        .unwrap();
        let paths: Vec<Vec<String>> =
            [&["country"][..], &["app", "version"], &["beta"], &["score"]]
                .iter()
                .map(|p| p.iter().map(|s| s.to_string()).collect())
                .collect();
        assert_eq!(
            Value::Object(opted_attributes(&paths, &context)),
            json!({"beta": true, "score": 1.5})
        );
    }

    #[test]
    fn the_json_schema_names_every_field() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../docs/exposure-event.v1.schema.json"))
                .unwrap();
        let mut s = served("user-1", "classic");
        s.attributes.insert("plan".into(), json!("pro"));
        s.holdout = Some("q4-holdout".into());
        s.fallthrough = true;
        let e = serde_json::to_value(&events(&meta("r"), [s])[0]).unwrap();
        let mut written: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        let mut declared: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        written.sort_unstable();
        declared.sort_unstable();
        assert_eq!(written, declared);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required.len(), declared.len() - 3, "all but three");
        for optional in ["attributes", "holdout", "fallthrough"] {
            assert!(!required.contains(&optional));
        }
    }

    #[test]
    fn skew_correction_uses_the_client_interval() {
        // Applied 2 s before sending; the client clock is an hour off.
        let hour = 3_600_000;
        assert_eq!(
            skew_corrected(10_000_000, 10_000_000 + hour, 9_998_000 + hour),
            9_998_000
        );
        // An apply "after" the send counts as the send.
        assert_eq!(skew_corrected(10_000_000, 5, 9), 10_000_000);
    }
}
