//! What an OFREP single-flag evaluation exposes: the assignment, when the
//! rule that served is a split (a backend asks for one flag when it uses
//! the value). Bulk evaluations are prefetches and expose nothing; a
//! default, a static value, a targeting match or an error expose nothing.

use serde_json::Map;
use vane_resolver::model::KeyDigest;
use vane_resolver::{Context, EvaluationResult, Exposure, Snapshot};

use super::batch::{messages, Outgoing};
use super::event::{events, opted_attributes, RequestMeta, Served, Source, Weight};

/// Longest `sdk` value taken from a `User-Agent` header, in bytes.
pub const MAX_SDK_BYTES: usize = 128;

/// What the worker knows about an OFREP request besides its body.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The request's id (`x-request-id`), the events' `resolve_id`.
    pub request_id: &'a str,
    /// sha256 of the caller's client key.
    pub key_digest: &'a KeyDigest,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// Evaluation time, Unix milliseconds.
    pub now_ms: u64,
}

/// The queue messages of one OFREP single-flag evaluation that gave
/// `result` and `exposure` ([`Snapshot::evaluate_with_exposure`]): none
/// unless a split or a holdout bucketed a unit and the tenant logs
/// exposures; the event carries the context attributes the flag opts in.
pub fn single_flag_exposures(
    snapshot: &Snapshot,
    result: &EvaluationResult<'_>,
    exposure: Option<&Exposure<'_>>,
    context: &Context,
    facts: RequestFacts<'_>,
) -> Vec<Outgoing> {
    let log = snapshot.exposure_log();
    if !log.enabled {
        return Vec::new();
    }
    let Some(mut served) = served(result, exposure, facts.now_ms) else {
        return Vec::new();
    };
    served.attributes = opted_attributes(log.attributes_of(&result.key), context);
    let client = snapshot
        .clients()
        .iter()
        .find(|c| c.key_digests.contains(facts.key_digest))
        .map(|c| c.name.clone());
    let sdk = facts.user_agent.map(|ua| {
        let mut end = ua.len().min(MAX_SDK_BYTES);
        while !ua.is_char_boundary(end) {
            end -= 1;
        }
        ua[..end].to_owned()
    });
    let meta = RequestMeta {
        tenant: snapshot.info.tenant.clone(),
        source: Source::Ofrep,
        resolve_id: facts.request_id.to_owned(),
        snapshot_version: snapshot.info.version,
        snapshot_digest: snapshot.info.digest.clone(),
        client,
        sdk,
        evaluated_at_ms: facts.now_ms,
    };
    messages(&meta.tenant, events(&meta, [served]))
}

/// The assignment a single-flag evaluation that gave `result` served, or
/// `None` when it is not an exposure (`exposure` is `None`). `exposed_at_ms`
/// is the evaluation time, Unix milliseconds.
///
/// A split's event names its variants and weights. A holdout's (a unit
/// held out of an experiment, `docs/exposures.md` "Holdouts") names the
/// holdout, the variant it served (none: no event), the holdout's unit and
/// one weight, the buckets it holds out; a holdout that needs no unit
/// (share 100) has no unit to log and makes no event.
pub fn served(
    result: &EvaluationResult<'_>,
    exposure: Option<&Exposure<'_>>,
    exposed_at_ms: u64,
) -> Option<Served> {
    let exposure = exposure?;
    Some(Served {
        flag: result.key.clone().into_owned(),
        variant: exposure.variant.to_owned(),
        reason: result.reason.as_str().to_owned(),
        assignment: format!("rules[{}]", exposure.rule),
        unit: exposure.unit.clone(),
        unit_source: exposure.unit_source.clone(),
        weights: weights(&exposure.weights),
        exposed_at_ms,
        attributes: Map::new(),
        holdout: exposure.holdout.map(str::to_owned),
        fallthrough: false,
    })
}

/// An exposure's weights as the event writes them.
pub fn weights(weights: &[(&str, u64)]) -> Vec<Weight> {
    weights
        .iter()
        .map(|&(variant, weight)| Weight {
            variant: variant.to_owned(),
            weight,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};
    use vane_resolver::expr::{Expr, Op};
    use vane_resolver::model::{
        Body, ExposureLog, Flag, FlagAttributes, Rule, Serve, Split, Targeting, Variant,
    };
    use vane_resolver::{Context, Snapshot};

    /// `exp`: rule 0 serves `b` to `vip`, rule 1 splits 30/70 by
    /// `account.id`; `plain` is static.
    fn snapshot() -> Snapshot {
        snapshot_with(ExposureLog::default())
    }

    /// [`snapshot`] with the tenant's exposure settings `exposure_log`.
    fn snapshot_with(exposure_log: ExposureLog) -> Snapshot {
        let variants = vec![
            Variant {
                name: "a".into(),
                value: json!("a"),
            },
            Variant {
                name: "b".into(),
                value: json!("b"),
            },
        ];
        let rules = vec![
            Rule {
                when: Some(Expr::Op(
                    Op::StrictEq,
                    vec![Expr::Var(vec!["vip".into()]), Expr::Lit(json!(true))],
                )),
                serve: Serve::Variant(1),
                active_from: None,
                active_until: None,
            },
            Rule {
                when: None,
                serve: Serve::Split(Split {
                    bucket_by: Some(vec!["account".into(), "id".into()]),
                    salt: "exp".into(),
                    weights: vec![(0, 30), (1, 70)],
                }),
                active_from: None,
                active_until: None,
            },
        ];
        let flag = |key: &str, targeting| Flag {
            key: key.into(),
            variants: variants.clone(),
            default_variant: Some(0),
            disabled: false,
            targeting,
            metadata: Map::new(),
        };
        let body = Body {
            flags: vec![
                flag("exp", Targeting::Rules(rules)),
                flag("plain", Targeting::Static),
            ],
            clients: vec![],
            cors_origins: vec![],
            metadata: Map::new(),
            spaces: Vec::new(),
            exposure_log,
        };
        let bytes = Snapshot::encode("shop", 1, 0, "test", &body).unwrap();
        Snapshot::from_bytes(&bytes).unwrap()
    }

    /// The exposures of evaluating `key` in `ctx`, as the OFREP handler
    /// makes them.
    fn exposures_of(
        snap: &Snapshot,
        key: &str,
        ctx: &Context,
        facts: RequestFacts<'_>,
    ) -> Vec<Outgoing> {
        let (result, exposure) = snap.evaluate_with_exposure(key, ctx);
        single_flag_exposures(snap, &result, exposure.as_ref(), ctx, facts)
    }

    #[test]
    fn a_split_exposes_its_assignment() {
        let snap = snapshot();
        let ctx =
            Context::from_json(r#"{"targetingKey":"t","account":{"id":"acc-9"}}"#, 0).unwrap();
        let (result, exposure) = snap.evaluate_with_exposure("exp", &ctx);
        let s = served(&result, exposure.as_ref(), 42).expect("a split exposes");
        assert_eq!(s.variant, result.variant.unwrap());
        assert_eq!(s.assignment, "rules[1]");
        assert_eq!(s.unit, "acc-9");
        assert_eq!(s.unit_source, "account.id");
        assert_eq!(s.reason, "SPLIT");
        assert_eq!(s.exposed_at_ms, 42);
        assert_eq!(
            s.weights,
            vec![
                Weight {
                    variant: "a".into(),
                    weight: 30
                },
                Weight {
                    variant: "b".into(),
                    weight: 70
                },
            ]
        );
    }

    #[test]
    fn a_request_yields_one_message_with_its_facts() {
        let snap = snapshot();
        let ctx = Context::from_json(r#"{"account":{"id":"acc-9"}}"#, 0).unwrap();
        let digest = KeyDigest([7; 32]);
        let long_agent = "é".repeat(100);
        let facts = RequestFacts {
            request_id: "req-1",
            key_digest: &digest,
            user_agent: Some(&long_agent),
            now_ms: 1_796_117_400_123,
        };
        let out = exposures_of(&snap, "exp", &ctx, facts);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].events, 1);
        let m: crate::exposure::batch::Message = serde_json::from_str(&out[0].body).unwrap();
        let e = &m.events[0];
        assert_eq!(
            (e.tenant.as_str(), e.resolve_id.as_str()),
            ("shop", "req-1")
        );
        assert_eq!(e.client, None, "the digest is no client's");
        assert_eq!(e.sdk.as_deref().map(str::len), Some(128));
        assert_eq!(e.evaluated_at, "2026-12-01T09:30:00.123Z");
        assert_eq!(e.snapshot_digest, snap.info.digest);
        // Not a split: nothing.
        assert!(exposures_of(&snap, "plain", &ctx, facts).is_empty());
    }

    #[test]
    fn the_tenants_settings_decide_what_is_logged() {
        let ctx = Context::from_json(
            r#"{"targetingKey":"t","account":{"id":"acc-9","tier":"gold"},"country":"DE","email":"x@y"}"#,
            0,
        )
        .unwrap();
        let digest = KeyDigest([7; 32]);
        let facts = RequestFacts {
            request_id: "req-1",
            key_digest: &digest,
            user_agent: None,
            now_ms: 1_796_117_400_123,
        };
        let path = |p: &str| p.split('.').map(str::to_owned).collect::<Vec<_>>();
        let opted = snapshot_with(ExposureLog {
            enabled: true,
            attributes: vec![FlagAttributes {
                flag: "exp".into(),
                paths: vec![path("country"), path("account.tier")],
            }],
        });
        let out = exposures_of(&opted, "exp", &ctx, facts);
        let m: serde_json::Value = serde_json::from_str(&out[0].body).unwrap();
        assert_eq!(
            m["events"][0]["attributes"],
            json!({"country": "DE", "account.tier": "gold"}),
            "the named attributes and nothing else"
        );
        let plain = exposures_of(&snapshot(), "exp", &ctx, facts);
        let m: serde_json::Value = serde_json::from_str(&plain[0].body).unwrap();
        assert!(m["events"][0].get("attributes").is_none());
        let off = snapshot_with(ExposureLog {
            enabled: false,
            attributes: vec![],
        });
        assert!(exposures_of(&off, "exp", &ctx, facts).is_empty());
    }

    #[test]
    fn other_outcomes_expose_nothing() {
        let snap = snapshot();
        for (flag, context) in [
            ("exp", r#"{"vip":true,"account":{"id":"acc-9"}}"#), // targeting match
            ("exp", r#"{"targetingKey":"t"}"#),                  // unit missing: error
            ("plain", r#"{"targetingKey":"t"}"#),                // static
            ("missing", r#"{"targetingKey":"t"}"#),              // not found
        ] {
            let ctx = Context::from_json(context, 0).unwrap();
            let (result, exposure) = snap.evaluate_with_exposure(flag, &ctx);
            assert_eq!(
                served(&result, exposure.as_ref(), 0),
                None,
                "{flag} {context}"
            );
        }
    }
}
