//! Resolution of flags with ordered assignment rules
//! ([`Targeting::Assigned`](crate::model::Targeting::Assigned)): the model
//! of Spotify Confidence, with the semantics of its reference resolver (the
//! Java one; `docs/rules.md`, "Confidence flags").
//!
//! For each rule in order:
//!
//! 1. a rule for other clients (a Confidence environment filter) is skipped;
//! 2. the unit is read ([`unit_of`]): a missing unit skips a rule whose unit
//!    path was named; an unusable one is `TARGETING_KEY_ERROR`, unless the
//!    path is the default and the rule needs no unit (one assignment over
//!    every bucket);
//! 3. a sticky read: a unit with an assignment stored for this rule keeps it
//!    (when the targeting still matches or may be ignored); a unit without
//!    one skips the rule when the stored assignment must match;
//! 4. otherwise the segment must match: its targeting and its allocation;
//! 5. the unit's bucket picks an assignment: a variant (match), the client's
//!    default (match without a value) or a fall-through (recorded, next
//!    rule). No assignment at that bucket: next rule. A new assignment is
//!    written to the rule's sticky store.
//!
//! No rule assigning: `NO_SEGMENT_MATCH`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::Context;
use crate::expr::Env;
use crate::model::{AssignRule, Assigned, Assignment, Outcome};
use crate::space::BucketCache;

/// Longest unit accepted, in bytes (Confidence: 100 characters).
pub const MAX_UNIT_BYTES: usize = 100;

/// What a sticky store holds for one unit and materialization: whether the
/// unit is in it, and the variant stored per rule (Confidence's
/// `MaterializationInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAssignments {
    /// The unit is in the materialization (a materialized segment's member,
    /// or a unit with sticky assignments).
    #[serde(default)]
    pub is_unit_in_materialization: bool,
    /// Rule name → variant name; an empty variant means "no variant".
    #[serde(default)]
    pub rule_to_variant: BTreeMap<String, String>,
}

/// The sticky store's content for a request: unit → materialization →
/// [`StoredAssignments`]. A pair it lacks is "not in the materialization".
/// Deserialises from the JSON shape of the Confidence resolver specification
/// (`{"user1": {"materializations/m": {"isUnitInMaterialization": true,
/// "ruleToVariant": {...}}}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Materializations(pub BTreeMap<String, BTreeMap<String, StoredAssignments>>);

impl Materializations {
    /// Whether `unit` is in `materialization`.
    pub fn contains(&self, unit: &str, materialization: &str) -> bool {
        self.get(unit, materialization)
            .is_some_and(|s| s.is_unit_in_materialization)
    }

    /// The variant stored for `rule` (possibly empty), when the unit is in
    /// the materialization and has one for the rule.
    pub fn variant(&self, unit: &str, materialization: &str, rule: &str) -> Option<&str> {
        self.get(unit, materialization)
            .filter(|s| s.is_unit_in_materialization)
            .and_then(|s| s.rule_to_variant.get(rule))
            .map(String::as_str)
    }

    fn get(&self, unit: &str, materialization: &str) -> Option<&StoredAssignments> {
        self.0.get(unit).and_then(|m| m.get(materialization))
    }
}

/// A sticky assignment to write after a resolve (off the response path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickyWrite {
    /// The unit.
    pub unit: String,
    /// The materialization written.
    pub materialization: String,
    /// The rule that assigned.
    pub rule: String,
    /// The variant's name; empty for a fall-through or the client's default.
    pub variant: String,
}

/// Why a flag resolved as it did (Confidence `ResolveReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignReason {
    /// A rule assigned (a variant or the client's default).
    Match,
    /// No rule assigned.
    NoSegmentMatch,
    /// The unit is of an unusable type or too long.
    TargetingKeyError,
    /// The flag could not be evaluated (a Vane or flagd flag's error other
    /// than its targeting key; never a Confidence flag's).
    Error,
}

impl AssignReason {
    /// The Confidence spelling, e.g. `RESOLVE_REASON_MATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignReason::Match => "RESOLVE_REASON_MATCH",
            AssignReason::NoSegmentMatch => "RESOLVE_REASON_NO_SEGMENT_MATCH",
            AssignReason::TargetingKeyError => "RESOLVE_REASON_TARGETING_KEY_ERROR",
            AssignReason::Error => "RESOLVE_REASON_ERROR",
        }
    }
}

/// Where an assignment came from.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedBy<'a> {
    /// The rule.
    pub rule: &'a AssignRule,
    /// The assignment's id.
    pub assignment_id: &'a str,
    /// The unit (empty when the rule needed none and the context had none).
    pub unit: String,
}

/// One flag's resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignResult<'a> {
    /// Why.
    pub reason: AssignReason,
    /// The variant (index into the flag's variants); `None` for no match
    /// and for the client's default.
    pub variant: Option<u32>,
    /// The assigning rule, for a match.
    pub assigned_by: Option<AssignedBy<'a>>,
    /// Rules that fell through on the way, with their assignment ids and units.
    pub fallthroughs: Vec<AssignedBy<'a>>,
}

impl AssignResult<'_> {
    /// Whether the client should report an exposure when it uses the value:
    /// a match, or any fall-through on the way (Confidence `shouldApply`).
    pub fn should_apply(&self) -> bool {
        self.reason == AssignReason::Match || !self.fallthroughs.is_empty()
    }

    fn no_match(reason: AssignReason) -> Self {
        AssignResult {
            reason,
            variant: None,
            assigned_by: None,
            fallthroughs: Vec::new(),
        }
    }
}

/// Why a context gives no unit for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitProblem {
    /// Absent or `null`.
    Missing,
    /// Not a string or a whole number, or longer than [`MAX_UNIT_BYTES`].
    Unusable,
}

/// The attribute holding the targeting key in a Confidence context.
pub const TARGETING_KEY: &str = "targeting_key";

/// A rule's unit in `context`: the attribute at `path`, or with `None` the
/// targeting key (the context's own, else the `targeting_key` attribute).
/// A unit is a string of at most [`MAX_UNIT_BYTES`] bytes or a whole
/// number (spelled without a fraction); paths walk objects only.
pub fn unit_of(context: &Context, path: Option<&[String]>) -> Result<String, UnitProblem> {
    let path = match path {
        Some(p) => p,
        None => match context.targeting_key() {
            Some(key) => return usable(key.to_owned()),
            None => &[],
        },
    };
    let default = [TARGETING_KEY.to_owned()];
    let (first, rest) = match path.split_first() {
        Some(split) => split,
        None => (&default[0], &[][..]),
    };
    let mut value = context.member(first).ok_or(UnitProblem::Missing)?;
    for segment in rest {
        value = match value {
            Value::Object(m) => m.get(segment).ok_or(UnitProblem::Missing)?,
            _ => return Err(UnitProblem::Missing),
        };
    }
    usable(match value {
        Value::Null => return Err(UnitProblem::Missing),
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.is_finite() && f.fract() == 0.0 => format!("{f:.0}"),
            _ => return Err(UnitProblem::Unusable),
        },
        _ => return Err(UnitProblem::Unusable),
    })
}

fn usable(unit: String) -> Result<String, UnitProblem> {
    if unit.len() > MAX_UNIT_BYTES {
        return Err(UnitProblem::Unusable);
    }
    Ok(unit)
}

impl AssignRule {
    /// True when the rule needs no bucket: one assignment over every bucket.
    pub fn full_rollout(&self) -> bool {
        matches!(self.assignments.as_slice(), [only] if only.ranges == [(0, self.bucket_count)])
    }

    /// The assignment at `bucket`, if any.
    fn assignment_at(&self, bucket: u64) -> Option<&Assignment> {
        self.assignments.iter().find(|a| {
            a.ranges
                .iter()
                .any(|&(lo, hi)| u64::from(lo) <= bucket && bucket < u64::from(hi))
        })
    }

    fn targeting_holds(&self, env: &Env<'_>) -> bool {
        self.when.as_ref().is_none_or(|c| c.holds(env))
    }

    fn allocation_holds(&self, env: &Env<'_>) -> bool {
        self.allocation.as_ref().is_none_or(|t| t.holds(env))
    }
}

/// Resolves an assigned flag for `client` (a client name of the snapshot;
/// `None` for a request that names no client, as over OFREP, which skips
/// the rules restricted to clients).
/// `env` carries the request's context, bucket hashes and sticky store;
/// new sticky assignments are appended to `writes`.
pub fn resolve_assigned<'a>(
    assigned: &'a Assigned,
    variants: &[crate::model::Variant],
    client: Option<&str>,
    env: &Env<'_>,
    writes: &mut Vec<StickyWrite>,
) -> AssignResult<'a> {
    let mut fallthroughs = Vec::new();
    for rule in &assigned.rules {
        if rule.clients.as_ref().is_some_and(|c| {
            client.is_none_or(|client| c.binary_search_by(|n| n.as_str().cmp(client)).is_err())
        }) {
            continue;
        }
        let named = rule.unit.is_some();
        let unit = match unit_of(env.buckets.context(), rule.unit.as_deref()) {
            Ok(u) => Some(u),
            Err(UnitProblem::Missing) if !named => None,
            Err(UnitProblem::Missing) => continue,
            Err(UnitProblem::Unusable) if !named && rule.full_rollout() => None,
            Err(UnitProblem::Unusable) => {
                return AssignResult::no_match(AssignReason::TargetingKeyError)
            }
        };
        let mut sticky_match = false;
        let read = rule
            .sticky
            .as_ref()
            .and_then(|s| s.read.as_deref().map(|r| (s, r)));
        if let Some((sticky, read)) = read {
            let Some(unit) = unit.as_deref() else {
                continue;
            };
            match env.sticky.and_then(|m| m.variant(unit, read, &rule.name)) {
                None if sticky.must_match => continue,
                None => {}
                Some(stored) => {
                    sticky_match = sticky.ignore_targeting || rule.targeting_holds(env);
                    if sticky_match {
                        if let Some((assignment, i)) =
                            stored_assignment(rule, variants, stored, env.buckets)
                        {
                            return AssignResult {
                                reason: AssignReason::Match,
                                variant: Some(i),
                                assigned_by: Some(AssignedBy {
                                    rule,
                                    assignment_id: &assignment.id,
                                    unit: unit.to_owned(),
                                }),
                                fallthroughs,
                            };
                        }
                    }
                }
            }
        }
        let segment_match = || rule.targeting_holds(env) && rule.allocation_holds(env);
        if !sticky_match && !segment_match() {
            continue;
        }
        let assignment = if rule.full_rollout() {
            rule.assignments.first()
        } else if unit.is_some() {
            env.buckets
                .bucket(rule.space, u64::from(rule.bucket_count))
                .ok()
                .and_then(|b| rule.assignment_at(b))
        } else {
            continue;
        };
        let Some(assignment) = assignment else {
            continue;
        };
        let unit = unit.unwrap_or_default();
        if let Some(write) = rule.sticky.as_ref().and_then(|s| s.write.as_deref()) {
            if !unit.is_empty() {
                let variant = match assignment.outcome {
                    Outcome::Variant(i) => variants.get(i as usize).map(|v| v.name.clone()),
                    _ => None,
                };
                writes.push(StickyWrite {
                    unit: unit.clone(),
                    materialization: write.to_owned(),
                    rule: rule.name.clone(),
                    variant: variant.unwrap_or_default(),
                });
            }
        }
        let by = AssignedBy {
            rule,
            assignment_id: &assignment.id,
            unit,
        };
        match assignment.outcome {
            Outcome::Fallthrough => fallthroughs.push(by),
            Outcome::ClientDefault => {
                return AssignResult {
                    reason: AssignReason::Match,
                    variant: None,
                    assigned_by: Some(by),
                    fallthroughs,
                }
            }
            Outcome::Variant(i) => {
                return AssignResult {
                    reason: AssignReason::Match,
                    variant: Some(i),
                    assigned_by: Some(by),
                    fallthroughs,
                }
            }
        }
    }
    AssignResult {
        fallthroughs,
        ..AssignResult::no_match(AssignReason::NoSegmentMatch)
    }
}

/// The assignment giving the stored variant: the only one, or among several
/// giving it the one at the unit's bucket. `None` for an empty or unknown
/// variant.
fn stored_assignment<'r>(
    rule: &'r AssignRule,
    variants: &[crate::model::Variant],
    stored: &str,
    buckets: &BucketCache<'_>,
) -> Option<(&'r Assignment, u32)> {
    let index = variants.iter().position(|v| v.name == stored)? as u32;
    let mut giving = rule
        .assignments
        .iter()
        .filter(|a| a.outcome == Outcome::Variant(index));
    let first = giving.next()?;
    if giving.next().is_none() {
        return Some((first, index));
    }
    let bucket = buckets
        .bucket(rule.space, u64::from(rule.bucket_count))
        .ok()?;
    rule.assignment_at(bucket)
        .filter(|a| a.outcome == Outcome::Variant(index))
        .map(|a| (a, index))
}

/// The (unit, materialization) pairs a resolve of these rules may read from
/// the sticky store, for a store that must be read before resolving: each
/// rule's sticky read and each materialized-segment test without a bloom
/// filter, with the rule's unit in `root`.
pub fn sticky_reads(assigned: &Assigned, context: &Context) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rule in &assigned.rules {
        let Ok(unit) = unit_of(context, rule.unit.as_deref()) else {
            continue;
        };
        if let Some(read) = rule.sticky.as_ref().and_then(|s| s.read.clone()) {
            out.push((unit.clone(), read));
        }
        if let Some(when) = &rule.when {
            when.visit(&mut |e| {
                if let crate::expr::Expr::Member(m) = e {
                    if m.bloom.is_none() {
                        out.push((unit.clone(), m.name.clone()));
                    }
                }
            });
        }
    }
    out.sort();
    out.dedup();
    out
}
