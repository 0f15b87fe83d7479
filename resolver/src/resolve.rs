//! Flag resolution: from a flag's IR and a context to an [`EvaluationResult`],
//! with the reasons and error codes of `docs/rules.md` ("What a caller gets").
//!
//! One code path serves evaluation and [`crate::explain`]: [`resolve`] reports
//! each step (a rule's check, a split's placement, a JsonLogic result) to a
//! [`Trace`]. Evaluation passes `()`, whose methods are empty and compile
//! away, so the hot path stays free of allocation and bookkeeping; an
//! evaluation that may log an exposure passes an `Option<Exposure>`, which
//! records only the exposure facts ([`crate::exposure`]) as the serving rule
//! is resolved.

use std::borrow::Cow;
use std::cell::RefCell;

use serde_json::Value;

use crate::assign::{resolve_assigned, AssignReason};
use crate::bucket::{murmur3_32, place, Slot};
use crate::context::Context;
use crate::exposure::{self, Exposure};
use crate::expr::{number_to_js_string, Env};
use crate::model::{Flag, Fractional, Rule, Serve, Split, Targeting};
use crate::result::{BulkEvaluation, ErrorCode, EvaluationResult, Reason};
use crate::snapshot::Snapshot;
use crate::space::BucketCache;

impl Snapshot {
    /// Evaluates one flag. An unknown key gives `FLAG_NOT_FOUND`.
    pub fn evaluate<'a>(&'a self, flag_key: &str, context: &Context) -> EvaluationResult<'a> {
        self.evaluate_traced(flag_key, context, &mut ())
    }

    /// Evaluates one flag as [`Snapshot::evaluate`] does, with the exposure
    /// the answer is (`None` unless a split or a holdout bucketed a unit),
    /// recorded in the same pass.
    pub fn evaluate_with_exposure<'a>(
        &'a self,
        flag_key: &str,
        context: &Context,
    ) -> (EvaluationResult<'a>, Option<Exposure<'a>>) {
        let mut exposure = None;
        let result = self.evaluate_traced(flag_key, context, &mut exposure);
        (result, exposure)
    }

    /// [`Snapshot::evaluate`], reporting each step to `trace`.
    pub(crate) fn evaluate_traced<'a, T: Trace<'a>>(
        &'a self,
        flag_key: &str,
        context: &Context,
        trace: &mut T,
    ) -> EvaluationResult<'a> {
        match self.flag(flag_key) {
            Some(flag) => resolve(flag, &self.buckets(context), trace),
            None => EvaluationResult::error(
                Cow::Owned(flag_key.to_owned()),
                ErrorCode::FlagNotFound,
                format!("flag '{flag_key}' was not found"),
                None,
            ),
        }
    }

    /// Evaluates every flag for the OFREP bulk body.
    pub fn evaluate_bulk<'a>(&'a self, context: &Context) -> BulkEvaluation<'a> {
        let meta = self.metadata();
        BulkEvaluation {
            flags: self.evaluate_all(context),
            metadata: (!meta.is_empty()).then_some(meta),
        }
    }

    /// Evaluates every flag of the snapshot, in key order. Flags sharing a
    /// bucket space share its hash (computed once for the request).
    pub fn evaluate_all<'a>(&'a self, context: &Context) -> Vec<EvaluationResult<'a>> {
        let buckets = self.buckets(context);
        self.flags()
            .map(|f| resolve(f, &buckets, &mut ()))
            .collect()
    }

    /// A bucket cache for one request against this snapshot's spaces: pass
    /// the same one to every evaluation of the request.
    pub(crate) fn buckets<'c>(&'c self, context: &'c Context) -> BucketCache<'c> {
        BucketCache::new(context, self.spaces())
    }
}

/// Receives the steps of one resolution. Every method defaults to doing
/// nothing; `()` is the tracer of plain evaluation. `'a` is the flag's
/// lifetime.
pub(crate) trait Trace<'a> {
    /// Rule `index` (0-based, in order) was checked. Rules after the one that
    /// serves are never checked.
    fn rule(&mut self, _index: usize, _check: RuleCheck) {}
    /// The serving rule's split placed the context (or found no unit).
    fn split(&mut self, _placement: &Result<Placement<'_>, String>) {}
    /// flagd JsonLogic targeting evaluated to this value.
    fn targeting(&mut self, _result: &Value) {}
    /// The serving rule's split or holdout gave this exposure (`None`: it
    /// exposes nothing); called only by tracers that keep it.
    fn exposure(&mut self, _exposure: impl FnOnce() -> Option<Exposure<'a>>) {}
}

impl Trace<'_> for () {}

/// Keeps the exposure only.
impl<'a> Trace<'a> for Option<Exposure<'a>> {
    fn exposure(&mut self, exposure: impl FnOnce() -> Option<Exposure<'a>>) {
        *self = exposure();
    }
}

/// The outcome of checking one rule against a context, in the order the
/// checks are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleCheck {
    /// The evaluation time is before the rule's `active_from`.
    NotYetActive,
    /// The evaluation time is at or after the rule's `active_until`.
    Expired,
    /// The rule is active but its condition does not hold.
    ConditionFalse,
    /// The rule is active and its condition holds (or it has none): it serves.
    Applies,
}

/// Where a split put the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement<'c> {
    /// All the weight is on the variant at this position of the split's
    /// weights: it serves without a unit.
    Whole(usize),
    /// The unit was hashed and placed among the cut points.
    Hashed {
        /// The unit as hashed after `"{salt}|"`: the targeting key or the
        /// `bucket_by` attribute (a number in its JSON spelling).
        unit: Cow<'c, str>,
        /// MurmurHash3 of `"{salt}|{unit}"`.
        hash: u32,
        /// The bucket and the index into the split's weights (`None` when
        /// every weight is zero).
        slot: Option<Slot>,
    },
}

impl Placement<'_> {
    /// The position in the split's weights the context was placed at;
    /// `None` when every weight is zero.
    fn index(&self) -> Option<usize> {
        match self {
            Placement::Whole(index) => Some(*index),
            Placement::Hashed { slot, .. } => slot.as_ref().map(|s| s.index),
        }
    }
}

/// Resolves one flag, reporting each step to `trace`.
pub(crate) fn resolve<'a, T: Trace<'a>>(
    flag: &'a Flag,
    buckets: &BucketCache<'_>,
    trace: &mut T,
) -> EvaluationResult<'a> {
    let context = buckets.context();
    let metadata = (!flag.metadata.is_empty()).then_some(&flag.metadata);
    let ok = |index: Option<u32>, reason: Reason| -> EvaluationResult<'a> {
        let variant = index.and_then(|i| flag.variants.get(i as usize));
        match (index, variant) {
            (Some(i), None) => EvaluationResult::error(
                Cow::Borrowed(&flag.key),
                ErrorCode::General,
                format!("variant index {i} is out of range"),
                metadata,
            ),
            _ => EvaluationResult {
                key: Cow::Borrowed(&flag.key),
                value: variant.map(|v| &v.value),
                variant: variant.map(|v| v.name.as_str()),
                reason,
                error_code: None,
                error_details: None,
                metadata,
            },
        }
    };
    let fail = |code: ErrorCode, details: String| {
        EvaluationResult::error(Cow::Borrowed(&flag.key), code, details, metadata)
    };
    if flag.disabled {
        return ok(None, Reason::Disabled);
    }
    match &flag.targeting {
        // Without a default variant the code default applies: flagd reports DEFAULT.
        Targeting::Static => match flag.default_variant {
            Some(_) => ok(flag.default_variant, Reason::Static),
            None => ok(None, Reason::Default),
        },
        Targeting::Invalid(message) => fail(ErrorCode::ParseError, message.clone()),
        // Over OFREP an assigned flag serves the variant's value; the
        // client's default and no match leave the caller's code default.
        Targeting::Assigned(assigned) => {
            let undecided = RefCell::new(None);
            let env = Env::new(buckets, &flag.key).recording_undecided(&undecided);
            let result = resolve_assigned(assigned, &flag.variants, None, &env, &mut Vec::new());
            if let Some(u) = undecided.take() {
                return fail(ErrorCode::InvalidContext, u.details());
            }
            match (result.reason, result.variant) {
                (AssignReason::Match, Some(i)) => ok(Some(i), Reason::TargetingMatch),
                (AssignReason::TargetingKeyError, _) => fail(
                    ErrorCode::TargetingKeyMissing,
                    "the bucketing unit is not a string or a whole number of at most 100 bytes"
                        .to_owned(),
                ),
                _ => ok(None, Reason::Default),
            }
        }
        Targeting::JsonLogic(expr) => {
            let undecided = RefCell::new(None);
            let env = Env::new(buckets, &flag.key).recording_undecided(&undecided);
            let result = expr.eval(&env);
            trace.targeting(&result);
            if let Some(u) = undecided.take() {
                return fail(ErrorCode::InvalidContext, u.details());
            }
            let number;
            // flagd reads the targeting result's JSON text without quotes, so
            // booleans and numbers name variants too ("true", "1", "2.5").
            let name: &str = match result.as_ref() {
                Value::Null => return ok(flag.default_variant, Reason::Default),
                Value::String(s) => s,
                Value::Bool(true) => "true",
                Value::Bool(false) => "false",
                Value::Number(n) => {
                    number = number_to_js_string(n);
                    &number
                }
                other => {
                    return fail(
                        ErrorCode::General,
                        format!("targeting returned {other}, which is not a variant name"),
                    )
                }
            };
            match flag.variants.iter().position(|v| v.name == name) {
                Some(i) => ok(Some(i as u32), Reason::TargetingMatch),
                None => fail(
                    ErrorCode::General,
                    format!("targeting returned variant '{name}', which the flag does not define"),
                ),
            }
        }
        Targeting::Rules(rules) => {
            let undecided = RefCell::new(None);
            let env = Env::new(buckets, &flag.key).recording_undecided(&undecided);
            for (index, rule) in rules.iter().enumerate() {
                let check = check_rule(rule, &env);
                trace.rule(index, check);
                // An undecided test fails the evaluation whatever the
                // condition came to (`docs/rules.md`, "regex").
                if let Some(u) = undecided.take() {
                    return fail(ErrorCode::InvalidContext, u.details());
                }
                if check != RuleCheck::Applies {
                    continue;
                }
                return match &rule.serve {
                    Serve::Variant(i) => ok(Some(*i), Reason::TargetingMatch),
                    Serve::Split(split) => {
                        let placement = place_in_split(split, context);
                        trace.split(&placement);
                        let placement = match placement {
                            Ok(placement) => placement,
                            Err(details) => return fail(ErrorCode::TargetingKeyMissing, details),
                        };
                        let result = match placement.index().and_then(|i| split.weights.get(i)) {
                            Some(&(variant, _)) => ok(Some(variant), Reason::Split),
                            None => fail(ErrorCode::General, "split has no weight".to_owned()),
                        };
                        trace.exposure(|| {
                            exposure::of_split(flag, index, split, &placement, &result)
                        });
                        result
                    }
                    Serve::Holdout(holdout) => {
                        let variant = holdout.variant.or(flag.default_variant);
                        let reason = match holdout.variant {
                            Some(_) => Reason::TargetingMatch,
                            None => Reason::Default,
                        };
                        let result = EvaluationResult {
                            metadata: Some(&holdout.metadata),
                            ..ok(variant, reason)
                        };
                        trace.exposure(|| {
                            exposure::of_holdout(index, rule, holdout, &result, buckets)
                        });
                        result
                    }
                    Serve::Fractional(fractional) => {
                        let placement = place_fractional(fractional, context, &flag.key);
                        trace.split(&placement);
                        let weight = placement
                            .ok()
                            .and_then(|p| p.index().and_then(|i| fractional.weights.get(i)));
                        match weight {
                            Some(&(variant, _)) => ok(Some(variant), Reason::TargetingMatch),
                            // flagd's `fractional` returns null: the default.
                            _ => ok(flag.default_variant, Reason::Default),
                        }
                    }
                };
            }
            ok(flag.default_variant, Reason::Default)
        }
    }
}

/// Checks a rule's window, then its condition.
fn check_rule(rule: &Rule, env: &Env<'_>) -> RuleCheck {
    let now = env.now;
    if rule.active_from.is_some_and(|t| now < t) {
        RuleCheck::NotYetActive
    } else if rule.active_until.is_some_and(|t| now >= t) {
        RuleCheck::Expired
    } else if rule.when.as_ref().is_none_or(|c| c.holds(env)) {
        RuleCheck::Applies
    } else {
        RuleCheck::ConditionFalse
    }
}

/// Where a split puts this context; `Err` with details when the split needs
/// a unit the context lacks.
fn place_in_split<'c>(split: &Split, context: &'c Context) -> Result<Placement<'c>, String> {
    if let Some(index) = split.whole() {
        return Ok(Placement::Whole(index));
    }
    let unit = context
        .unit(split.bucket_by.as_deref())
        .map_err(|_| match &split.bucket_by {
            None => "a split needs a targeting key (targetingKey)".to_owned(),
            Some(path) => format!(
                "the split buckets by '{}', which the context lacks or is not a string or number",
                path.join(".")
            ),
        })?;
    let hash = murmur3_32(&[split.salt.as_bytes(), b"|", unit.as_bytes()]);
    let slot = place(hash, split.weights.iter().map(|&(_, w)| w as u64));
    Ok(Placement::Hashed { unit, hash, slot })
}

/// Where a lowered flagd `fractional` puts this context; `Err` without a
/// targeting key.
fn place_fractional<'c>(
    fractional: &Fractional,
    context: &'c Context,
    flag_key: &str,
) -> Result<Placement<'c>, String> {
    let key = context
        .targeting_key()
        .ok_or_else(|| "fractional needs a targeting key (targetingKey)".to_owned())?;
    let hash = murmur3_32(&[flag_key.as_bytes(), key.as_bytes()]);
    let slot = place(hash, fractional.weights.iter().map(|&(_, w)| w as u64));
    Ok(Placement::Hashed {
        unit: Cow::Borrowed(key),
        hash,
        slot,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;
    use crate::expr::Expr;
    use crate::model::Variant;

    fn flag_returning(result: Value) -> Flag {
        Flag {
            key: "f".into(),
            variants: ["1", "2", "true", "x"]
                .iter()
                .map(|n| Variant {
                    name: (*n).into(),
                    value: json!(n),
                })
                .collect(),
            default_variant: Some(3),
            disabled: false,
            targeting: Targeting::JsonLogic(Expr::Lit(result)),
            metadata: Map::new(),
        }
    }

    #[test]
    fn targeting_results_name_variants_like_flagd() {
        let ctx = Context::empty(0);
        for (result, variant) in [
            (json!(1), Some("1")),
            (json!(2.0), Some("2")),
            (json!(true), Some("true")),
            (json!(null), Some("x")),
        ] {
            let flag = flag_returning(result.clone());
            let r = resolve(&flag, &BucketCache::new(&ctx, &[]), &mut ());
            assert_eq!(r.variant, variant, "{result}");
        }
        let flag = flag_returning(json!(["1"]));
        let r = resolve(&flag, &BucketCache::new(&ctx, &[]), &mut ());
        assert_eq!(r.error_code, Some(ErrorCode::General));
        let flag = flag_returning(json!(1.5));
        let r = resolve(&flag, &BucketCache::new(&ctx, &[]), &mut ());
        assert_eq!(
            r.error_details.as_deref(),
            Some("targeting returned variant '1.5', which the flag does not define")
        );
    }
}
