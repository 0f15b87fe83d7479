//! Explanations: why one evaluation came out as it did.
//!
//! [`Snapshot::explain`] resolves a flag through the very code path
//! [`Snapshot::evaluate`] uses (`resolve.rs`), with a recorder as its trace,
//! then adds what the IR says about each rule. The result answers the
//! questions a flag author asks in the playground or `vane eval`: which rule
//! served, why each earlier rule did not (not active yet, expired, condition
//! false, with the context values its condition read), and for a split the
//! bucketing unit, its hash, the bucket and the split's cut points.
//!
//! Not on the hot path: explaining allocates freely.

use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::exposure::{variant_name, Exposure};
use crate::expr::{Expr, Op, Path};
use crate::model::{Flag, Rule, Serve, Targeting};
use crate::resolve::{Placement, RuleCheck, Trace};
use crate::result::EvaluationResult;
use crate::snapshot::{Snapshot, SnapshotInfo};
use crate::space::{BucketCache, Range, RangeCheck};

/// Why one evaluation came out as it did. Serialises to JSON with camelCase
/// names: `{"flagKey", "result", "snapshot", "now", "targeting"?, "disabled",
/// "rules", "targetingResult"?, "reads"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation<'a> {
    /// The flag key asked for.
    pub flag_key: String,
    /// The evaluation result, exactly what [`Snapshot::evaluate`] returns
    /// (serialised as the OFREP object).
    pub result: EvaluationResult<'a>,
    /// The snapshot evaluated: tenant, version, digest, creation time.
    pub snapshot: &'a SnapshotInfo,
    /// Evaluation time, Unix seconds.
    pub now: i64,
    /// How the flag picks its variant; `None` when the snapshot has no such flag.
    pub targeting: Option<TargetingKind>,
    /// `true` when the flag is disabled (nothing else was looked at).
    pub disabled: bool,
    /// Every Vane rule of the flag, in order, with what happened to it.
    /// Empty for other kinds of targeting.
    pub rules: Vec<RuleStep<'a>>,
    /// What flagd JsonLogic targeting evaluated to (the variant name, or
    /// `null` for the default variant); `None` when it was not evaluated.
    pub targeting_result: Option<Value>,
    /// The context attributes flagd JsonLogic targeting reads by a fixed
    /// path, with their values in this context. Empty for other targeting.
    pub reads: Vec<Read>,
    /// What the evaluation exposed, recorded by the resolution; not part of
    /// the JSON ([`Explanation::exposure`]).
    #[serde(skip)]
    exposure: Option<Exposure<'a>>,
}

/// How a flag picks its variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetingKind {
    /// No targeting: the default variant.
    Static,
    /// flagd JsonLogic.
    JsonLogic,
    /// flagd targeting that could not be compiled: always `PARSE_ERROR`.
    Invalid,
    /// Vane ordered rules.
    Rules,
    /// Ordered assignment rules (Confidence).
    Assigned,
}

impl TargetingKind {
    /// The kind of a flag's targeting.
    pub fn of(targeting: &Targeting) -> TargetingKind {
        match targeting {
            Targeting::Static => TargetingKind::Static,
            Targeting::JsonLogic(_) => TargetingKind::JsonLogic,
            Targeting::Invalid(_) => TargetingKind::Invalid,
            Targeting::Rules(_) => TargetingKind::Rules,
            Targeting::Assigned(_) => TargetingKind::Assigned,
        }
    }
}

/// What happened to one Vane rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RuleOutcome {
    /// Active and its condition held: this rule served.
    Matched,
    /// Active, but its condition did not hold.
    ConditionFalse,
    /// The evaluation time is before `activeFrom`.
    NotYetActive,
    /// The evaluation time is at or after `activeUntil`.
    Expired,
    /// Not looked at: an earlier rule served, or the flag is disabled.
    NotReached,
}

/// One Vane rule and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleStep<'a> {
    /// 0-based position in the flag's rules.
    pub index: usize,
    /// What happened.
    pub outcome: RuleOutcome,
    /// `true` when the rule has a condition (`false`: always matches).
    pub has_condition: bool,
    /// The context attributes the condition reads, with their values here.
    pub reads: Vec<Read>,
    /// Start of the rule's window, Unix seconds (inclusive).
    pub active_from: Option<i64>,
    /// End of the rule's window, Unix seconds (exclusive).
    pub active_until: Option<i64>,
    /// What the rule serves when it matches.
    pub serves: Serves<'a>,
    /// Where the split put this context; only for a split rule that matched.
    pub placement: Option<SplitPlacement>,
    /// The bucket-range tests (layers, holdouts) in the rule's condition,
    /// each with this context's bucket, in the order they appear.
    pub buckets: Vec<BucketStep<'a>>,
}

/// A bucket-range test and where this context's unit fell: the space (a
/// layer, holdout or allocation) drawn as all the ranges any flag tests in
/// it, the unit's bucket and the slot holding it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketStep<'a> {
    /// The space's name (the layer or holdout).
    pub space: &'a str,
    /// `murmur3_x86_32` or `murmur3_x64_128`.
    pub scheme: &'static str,
    /// Hashed before the unit: `"{salt}|{unit}"`.
    pub salt: &'a str,
    /// The unit attribute, dot-joined; `targetingKey` for the targeting key.
    pub unit_by: String,
    /// The unit in this context; `None` when missing or unusable, or not
    /// needed (the test covers all buckets or none).
    pub unit: Option<String>,
    /// Number of buckets.
    pub count: u64,
    /// This test's ranges, `[start, end)`.
    pub ranges: &'a [Range],
    /// The unit's bucket; `None` when there is no unit or none was needed.
    pub bucket: Option<u64>,
    /// `true` when the test held.
    pub holds: bool,
    /// Every distinct set of ranges any flag tests in this space at this
    /// count, in bucket order: a layer's experiments, or a holdout's slice.
    pub slots: Vec<BucketSlot<'a>>,
    /// Index into `slots` of the one holding the bucket (the experiment the
    /// unit fell into); `None` when in none or without a bucket.
    pub fell_into: Option<usize>,
}

/// One set of ranges tested in a space and the flags that test it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketSlot<'a> {
    /// `[start, end)` ranges.
    pub ranges: &'a [Range],
    /// Keys of the flags testing exactly these ranges, in key order.
    pub flags: Vec<&'a str>,
}

/// A context attribute an expression reads by a fixed path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Read {
    /// The path, dot-joined (`user.tier`).
    pub path: String,
    /// Its value in the context; `None` (JSON: absent) when missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// What a rule serves. JSON: `{"variant": "on"}` or `{"split": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Serves<'a> {
    /// One variant, by name.
    Variant(&'a str),
    /// A weighted split.
    Split(SplitShape<'a>),
    /// A holdout's answer to the units it keeps out of an experiment.
    Holdout(HoldoutServe<'a>),
    /// flagd `fractional` lowered from JsonLogic: `salt` is the flag key,
    /// hashed directly before the targeting key (no `|`).
    Fractional(SplitShape<'a>),
}

/// What a holdout rule serves. JSON: `{"holdout": {"name", "variant"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldoutServe<'a> {
    /// The holdout's name.
    pub name: &'a str,
    /// The variant served: a named one or the flag's default (`None` when
    /// the flag has no default variant).
    pub variant: Option<&'a str>,
}

/// A split's bucketing and cut points.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitShape<'a> {
    /// The attribute whose value is the unit, dot-joined; `targetingKey`
    /// when the split buckets by the targeting key.
    pub bucket_by: String,
    /// The salt hashed before the unit (`"{salt}|{unit}"`).
    pub salt: &'a str,
    /// Sum of the weights: buckets are `0..total`.
    pub total: u64,
    /// One range of buckets per variant, in declaration order.
    pub cuts: Vec<Cut<'a>>,
}

/// The buckets one variant of a split gets: `from <= bucket < to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cut<'a> {
    /// Variant name.
    pub variant: &'a str,
    /// Its weight.
    pub weight: u32,
    /// First bucket (inclusive).
    pub from: u64,
    /// End bucket (exclusive).
    pub to: u64,
}

/// Where a split put the context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitPlacement {
    /// The bucketing unit; `None` when the context lacks it.
    pub unit: Option<String>,
    /// MurmurHash3 (x86, 32 bit, seed 0) of `"{salt}|{unit}"`.
    pub hash: Option<u32>,
    /// `hash * total >> 32`; `None` without a unit or when all weights are 0.
    pub bucket: Option<u64>,
    /// Index into the split's cuts of the variant served.
    pub cut: Option<usize>,
    /// `true` when all the weight is on one variant: it serves without a
    /// unit (nothing was hashed).
    pub whole: bool,
    /// Why there is no placement (the unit is missing).
    pub error: Option<String>,
}

impl Snapshot {
    /// Evaluates one flag as [`Snapshot::evaluate`] does and explains the
    /// result. An unknown key gives the `FLAG_NOT_FOUND` result and no
    /// targeting.
    pub fn explain<'a>(&'a self, flag_key: &str, context: &Context) -> Explanation<'a> {
        let flag = self.flag(flag_key);
        let mut recorder = Recorder::default();
        let result = self.evaluate_traced(flag_key, context, &mut recorder);
        let (rules, reads) = match flag {
            Some(
                flag @ Flag {
                    targeting: Targeting::Rules(rules),
                    ..
                },
            ) => (
                rules
                    .iter()
                    .enumerate()
                    .map(|(index, rule)| rule_step(self, flag, index, rule, context, &recorder))
                    .collect(),
                Vec::new(),
            ),
            Some(Flag {
                targeting: Targeting::JsonLogic(expr),
                ..
            }) => (Vec::new(), reads(Some(expr), context)),
            _ => (Vec::new(), Vec::new()),
        };
        Explanation {
            flag_key: flag_key.to_owned(),
            result,
            snapshot: &self.info,
            now: context.now(),
            targeting: flag.map(|f| TargetingKind::of(&f.targeting)),
            disabled: flag.is_some_and(|f| f.disabled),
            rules,
            targeting_result: recorder.targeting,
            reads,
            exposure: recorder.exposure,
        }
    }
}

/// Collects the steps resolution reports.
#[derive(Default)]
struct Recorder<'a> {
    checks: Vec<(usize, RuleCheck)>,
    placement: Option<SplitPlacement>,
    targeting: Option<Value>,
    exposure: Option<Exposure<'a>>,
}

impl<'a> Trace<'a> for Recorder<'a> {
    fn rule(&mut self, index: usize, check: RuleCheck) {
        self.checks.push((index, check));
    }

    fn split(&mut self, placement: &Result<Placement<'_>, String>) {
        let none = SplitPlacement {
            unit: None,
            hash: None,
            bucket: None,
            cut: None,
            whole: false,
            error: None,
        };
        self.placement = Some(match placement {
            Ok(Placement::Whole(index)) => SplitPlacement {
                cut: Some(*index),
                whole: true,
                ..none
            },
            Ok(Placement::Hashed { unit, hash, slot }) => SplitPlacement {
                unit: Some(unit.clone().into_owned()),
                hash: Some(*hash),
                bucket: slot.map(|s| s.bucket),
                cut: slot.map(|s| s.index),
                ..none
            },
            Err(details) => SplitPlacement {
                error: Some(details.clone()),
                ..none
            },
        });
    }

    fn targeting(&mut self, result: &Value) {
        self.targeting = Some(result.clone());
    }

    fn exposure(&mut self, exposure: impl FnOnce() -> Option<Exposure<'a>>) {
        self.exposure = exposure();
    }
}

fn rule_step<'a>(
    snapshot: &'a Snapshot,
    flag: &'a Flag,
    index: usize,
    rule: &'a Rule,
    context: &Context,
    recorder: &Recorder<'_>,
) -> RuleStep<'a> {
    let check = recorder
        .checks
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, c)| *c);
    let outcome = match check {
        Some(RuleCheck::Applies) => RuleOutcome::Matched,
        Some(RuleCheck::ConditionFalse) => RuleOutcome::ConditionFalse,
        Some(RuleCheck::NotYetActive) => RuleOutcome::NotYetActive,
        Some(RuleCheck::Expired) => RuleOutcome::Expired,
        None => RuleOutcome::NotReached,
    };
    let serves = match &rule.serve {
        Serve::Variant(i) => Serves::Variant(variant_name(flag, *i)),
        Serve::Split(split) => Serves::Split(split_shape(
            flag,
            split.bucket_by.as_ref(),
            &split.salt,
            &split.weights,
        )),
        Serve::Holdout(h) => Serves::Holdout(HoldoutServe {
            name: &h.name,
            variant: h
                .variant
                .or(flag.default_variant)
                .map(|i| variant_name(flag, i)),
        }),
        Serve::Fractional(f) => Serves::Fractional(split_shape(flag, None, &flag.key, &f.weights)),
    };
    let placement = match (&rule.serve, outcome) {
        (Serve::Split(_) | Serve::Fractional(_), RuleOutcome::Matched) => {
            recorder.placement.clone()
        }
        _ => None,
    };
    RuleStep {
        index,
        outcome,
        has_condition: rule.when.is_some(),
        reads: reads(rule.when.as_ref(), context),
        active_from: rule.active_from,
        active_until: rule.active_until,
        serves,
        placement,
        buckets: bucket_steps(snapshot, rule.when.as_ref(), context),
    }
}

/// The bucket-range tests of a condition, checked for this context.
fn bucket_steps<'a>(
    snapshot: &'a Snapshot,
    when: Option<&'a Expr>,
    context: &Context,
) -> Vec<BucketStep<'a>> {
    let spaces = snapshot.spaces();
    let cache = BucketCache::new(context, spaces);
    let mut tests = Vec::new();
    if let Some(e) = when {
        e.visit(&mut |e| {
            if let Expr::InBuckets(t) = e {
                tests.push(t);
            }
        });
    }
    tests
        .into_iter()
        .filter_map(|t| {
            let space = spaces.get(t.space as usize)?;
            let check = t.check(&cache);
            let bucket = match check {
                RangeCheck::In(b) | RangeCheck::Out(b) => Some(b),
                _ => None,
            };
            let slots = slots(snapshot, t.space, t.count);
            Some(BucketStep {
                space: &space.name,
                scheme: space.scheme.name(),
                salt: &space.salt,
                unit_by: space
                    .unit
                    .as_ref()
                    .map_or_else(|| "targetingKey".to_owned(), |p| p.join(".")),
                unit: bucket.and(cache.unit(space).ok().map(|u| u.into_owned())),
                count: t.count,
                ranges: &t.ranges,
                bucket,
                holds: matches!(check, RangeCheck::All | RangeCheck::In(_)),
                fell_into: bucket.and_then(|b| {
                    slots
                        .iter()
                        .position(|s| s.ranges.iter().any(|&(lo, hi)| lo <= b && b < hi))
                }),
                slots,
            })
        })
        .collect()
}

/// Every distinct set of ranges the snapshot's flags test in `space` over
/// `count` buckets, ordered by first bucket.
fn slots(snapshot: &Snapshot, space: u32, count: u64) -> Vec<BucketSlot<'_>> {
    let mut slots: Vec<BucketSlot<'_>> = Vec::new();
    for flag in snapshot.flags() {
        flag.visit_exprs(&mut |e| {
            let Expr::InBuckets(t) = e else { return };
            if t.space != space || t.count != count {
                return;
            }
            match slots.iter_mut().find(|s| s.ranges == t.ranges.as_slice()) {
                Some(s) if !s.flags.contains(&flag.key.as_str()) => s.flags.push(&flag.key),
                Some(_) => {}
                None => slots.push(BucketSlot {
                    ranges: &t.ranges,
                    flags: vec![&flag.key],
                }),
            }
        });
    }
    slots.sort_by_key(|s| s.ranges.first().map_or(u64::MAX, |r| r.0));
    slots
}

fn split_shape<'a>(
    flag: &'a Flag,
    bucket_by: Option<&Path>,
    salt: &'a str,
    weights: &[(u32, u32)],
) -> SplitShape<'a> {
    let mut from = 0u64;
    let cuts = weights
        .iter()
        .map(|&(variant, weight)| {
            let to = from + u64::from(weight);
            let cut = Cut {
                variant: variant_name(flag, variant),
                weight,
                from,
                to,
            };
            from = to;
            cut
        })
        .collect();
    SplitShape {
        bucket_by: bucket_by.map_or_else(|| "targetingKey".to_owned(), |p| p.join(".")),
        salt,
        total: from,
        cuts,
    }
}

/// The fixed paths an expression reads, first occurrence first, with their
/// values in the context.
fn reads(expr: Option<&Expr>, context: &Context) -> Vec<Read> {
    let mut paths: Vec<&Path> = Vec::new();
    if let Some(expr) = expr {
        collect_paths(expr, &mut paths);
    }
    paths
        .into_iter()
        .map(|path| Read {
            path: path.join("."),
            value: context.lookup(path).cloned(),
        })
        .collect()
}

fn collect_paths<'e>(expr: &'e Expr, out: &mut Vec<&'e Path>) {
    let mut push = |path: &'e Path| {
        if !path.is_empty() && !out.contains(&path) {
            out.push(path);
        }
    };
    match expr {
        Expr::Var(path) | Expr::Test(path, _) | Expr::Criterion(path, _) => push(path),
        Expr::VarOr(path, default) => {
            push(path);
            collect_paths(default, out);
        }
        Expr::InSet(inner, _) => collect_paths(inner, out),
        // Inside these operators, arguments after the first read the
        // current element, not the context.
        Expr::Op(Op::Map | Op::Filter | Op::Reduce | Op::All | Op::None | Op::Some, args) => {
            if let Some(first) = args.first() {
                collect_paths(first, out);
            }
        }
        Expr::VarDyn(args) | Expr::Array(args) | Expr::Op(_, args) => {
            for arg in args {
                collect_paths(arg, out);
            }
        }
        Expr::Lit(_)
        | Expr::FlagKey
        | Expr::Timestamp
        | Expr::InBuckets(_)
        | Expr::InBitmap(_)
        | Expr::Member(_) => {}
    }
}

impl<'a> Explanation<'a> {
    /// The exposure of this evaluation, recorded as it was resolved (see
    /// [`crate::exposure`]): `None` unless a split or a holdout bucketed a
    /// unit.
    pub fn exposure(&self) -> Option<&Exposure<'a>> {
        self.exposure.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;
    use crate::bucket::murmur3_32;
    use crate::expr::Test;
    use crate::model::{Body, Split, Variant};
    use crate::result::Reason;

    const NOW: i64 = 1_800_000_000;

    fn test(path: &str, value: Value) -> Expr {
        Expr::Test(vec![path.to_owned()], Test::Equals(value))
    }

    /// A flag with a rule that starts in the future, one that ended, one
    /// for `plan: pro`, then a 30/70 split salted `exp`.
    fn snapshot() -> Snapshot {
        let rule = |when, serve, active_from, active_until| Rule {
            when,
            serve,
            active_from,
            active_until,
        };
        let flag = Flag {
            key: "checkout".into(),
            variants: ["a", "b"]
                .iter()
                .map(|n| Variant {
                    name: (*n).into(),
                    value: json!(n),
                })
                .collect(),
            default_variant: Some(0),
            disabled: false,
            targeting: Targeting::Rules(vec![
                rule(None, Serve::Variant(1), Some(NOW + 1), None),
                rule(None, Serve::Variant(1), None, Some(NOW)),
                rule(
                    Some(test("plan", json!("pro"))),
                    Serve::Variant(1),
                    None,
                    None,
                ),
                rule(
                    None,
                    Serve::Split(Split {
                        bucket_by: None,
                        salt: "exp".into(),
                        weights: vec![(0, 30), (1, 70)],
                    }),
                    None,
                    None,
                ),
            ]),
            metadata: Map::new(),
        };
        let body = Body {
            flags: vec![flag],
            clients: vec![],
            cors_origins: vec![],
            metadata: Map::new(),
            spaces: Vec::new(),
            exposure_log: Default::default(),
        };
        Snapshot::from_bytes(&Snapshot::encode("t", 7, 0, "test", &body).unwrap()).unwrap()
    }

    fn context(json: Value) -> Context {
        Context::from_value(json, NOW).unwrap()
    }

    #[test]
    fn explains_every_rule_and_the_split_placement() {
        let snap = snapshot();
        let ctx = context(json!({"targetingKey": "user-1", "plan": "free"}));
        let e = snap.explain("checkout", &ctx);
        assert_eq!(e.result, snap.evaluate("checkout", &ctx));
        assert_eq!(e.result.reason, Reason::Split);
        assert_eq!(e.snapshot.version, 7);
        assert_eq!(e.snapshot.tenant, "t");
        assert_eq!(e.targeting, Some(TargetingKind::Rules));
        let outcomes: Vec<_> = e.rules.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [
                RuleOutcome::NotYetActive,
                RuleOutcome::Expired,
                RuleOutcome::ConditionFalse,
                RuleOutcome::Matched
            ]
        );
        assert_eq!(
            e.rules[2].reads,
            [Read {
                path: "plan".into(),
                value: Some(json!("free"))
            }]
        );
        let Serves::Split(shape) = &e.rules[3].serves else {
            panic!("a split: {:?}", e.rules[3].serves)
        };
        assert_eq!(
            (shape.bucket_by.as_str(), shape.salt, shape.total),
            ("targetingKey", "exp", 100)
        );
        assert_eq!(
            shape.cuts,
            [
                Cut {
                    variant: "a",
                    weight: 30,
                    from: 0,
                    to: 30
                },
                Cut {
                    variant: "b",
                    weight: 70,
                    from: 30,
                    to: 100
                }
            ]
        );
        let p = e.rules[3].placement.as_ref().unwrap();
        let hash = murmur3_32(&[b"exp|user-1"]);
        let bucket = (u64::from(hash) * 100) >> 32;
        assert_eq!(p.unit.as_deref(), Some("user-1"));
        assert_eq!((p.hash, p.bucket), (Some(hash), Some(bucket)));
        let cut = &shape.cuts[p.cut.unwrap()];
        assert!(cut.from <= bucket && bucket < cut.to);
        assert_eq!(e.result.variant, Some(cut.variant));
    }

    #[test]
    fn rules_after_the_match_are_not_reached() {
        let snap = snapshot();
        let ctx = context(json!({"plan": "pro"}));
        let e = snap.explain("checkout", &ctx);
        assert_eq!(e.result.variant, Some("b"));
        assert_eq!(e.rules[2].outcome, RuleOutcome::Matched);
        assert_eq!(e.rules[2].serves, Serves::Variant("b"));
        assert_eq!(e.rules[3].outcome, RuleOutcome::NotReached);
        assert_eq!(e.rules[3].placement, None);
    }

    #[test]
    fn a_missing_unit_is_explained_and_unknown_flags_have_no_targeting() {
        let snap = snapshot();
        let e = snap.explain("checkout", &context(json!({})));
        let p = e.rules[3].placement.as_ref().unwrap();
        assert_eq!(p.unit, None);
        assert_eq!(
            p.error.as_deref(),
            Some("a split needs a targeting key (targetingKey)")
        );
        assert_eq!(
            e.rules[2].reads,
            [Read {
                path: "plan".into(),
                value: None
            }]
        );

        let missing = snap.explain("nope", &context(json!({})));
        assert_eq!(missing.targeting, None);
        assert!(missing.rules.is_empty());
        assert_eq!(missing.result, snap.evaluate("nope", &context(json!({}))));
    }

    #[test]
    fn serialises_with_camel_case_names() {
        let snap = snapshot();
        let json = serde_json::to_value(snap.explain("checkout", &context(json!({"plan": "pro"}))))
            .unwrap();
        assert_eq!(json["result"]["variant"], "b");
        assert_eq!(json["snapshot"]["version"], 7);
        assert_eq!(json["rules"][0]["outcome"], "notYetActive");
        assert_eq!(json["rules"][0]["activeFrom"], NOW + 1);
        assert_eq!(json["rules"][2]["serves"], json!({"variant": "b"}));
        assert_eq!(json["rules"][3]["serves"]["split"]["cuts"][1]["from"], 30);
        assert_eq!(
            json["rules"][2]["reads"],
            json!([{"path": "plan", "value": "pro"}])
        );
    }
}
