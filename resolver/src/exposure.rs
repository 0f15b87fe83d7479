//! What an evaluation exposed its unit to: the facts an exposure event
//! records (`docs/exposures.md`). The resolution itself reports them
//! (`resolve.rs`, when a split or a holdout serves), so an exposing answer is
//! evaluated once; OFREP single-flag evaluations
//! ([`crate::Snapshot::evaluate_with_exposure`]), Confidence resolves of
//! Vane-YAML and flagd flags and explanations
//! ([`crate::Explanation::exposure`]) all read them from here.

use crate::expr::Expr;
use crate::model::{Flag, Holdout, Rule, Split};
use crate::resolve::Placement;
use crate::result::EvaluationResult;
use crate::space::{BucketCache, RangeCheck};

/// The exposure of one evaluation: only a split (reason `SPLIT`) that
/// hashed a unit, or a holdout that bucketed one, exposes it; a default, a
/// static value, a targeting match, an error and a holdout that needs no
/// unit (share 100) do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure<'a> {
    /// 0-based index of the rule that served (the event's `assignment` is
    /// `rules[{rule}]`).
    pub rule: usize,
    /// The variant served.
    pub variant: &'a str,
    /// The unit that was bucketed.
    pub unit: String,
    /// The attribute the unit came from, dot-joined (`targetingKey` for the
    /// targeting key).
    pub unit_source: String,
    /// For a split, each variant with its weight, in declaration order; for
    /// a holdout, the variant it serves with the number of buckets it holds
    /// out.
    pub weights: Vec<(&'a str, u64)>,
    /// The holdout's name when a holdout kept the unit out of an experiment.
    pub holdout: Option<&'a str>,
}

/// The variant an answer served, unless it failed.
fn served<'a>(result: &EvaluationResult<'a>) -> Option<&'a str> {
    result.error_code.is_none().then_some(result.variant)?
}

/// A variant's name; the empty string for an index the flag lacks (the
/// result then carries the `GENERAL` error that says so).
pub(crate) fn variant_name(flag: &Flag, index: u32) -> &str {
    flag.variants
        .get(index as usize)
        .map_or("", |v| v.name.as_str())
}

/// The exposure of rule `rule`'s split of `flag`, which placed the context
/// at `placement` and gave `result`: none when nothing was hashed (all the
/// weight on one variant) or the answer failed.
pub(crate) fn of_split<'a>(
    flag: &'a Flag,
    rule: usize,
    split: &Split,
    placement: &Placement<'_>,
    result: &EvaluationResult<'a>,
) -> Option<Exposure<'a>> {
    let Placement::Hashed { unit, .. } = placement else {
        return None;
    };
    Some(Exposure {
        rule,
        variant: served(result)?,
        unit: unit.clone().into_owned(),
        unit_source: split
            .bucket_by
            .as_ref()
            .map_or_else(|| "targetingKey".to_owned(), |p| p.join(".")),
        weights: split
            .weights
            .iter()
            .map(|&(v, w)| (variant_name(flag, v), u64::from(w)))
            .collect(),
        holdout: None,
    })
}

/// The exposure of rule `rule`, which serves `holdout` and gave `result`:
/// the first bucket-range test of the rule's condition in the holdout's
/// space that holds names the unit and the buckets held out; none when that
/// test needs no unit (it covers every bucket) or the answer failed.
pub(crate) fn of_holdout<'a>(
    rule_index: usize,
    rule: &Rule,
    holdout: &'a Holdout,
    result: &EvaluationResult<'a>,
    buckets: &BucketCache<'_>,
) -> Option<Exposure<'a>> {
    let variant = served(result)?;
    let spaces = buckets.spaces();
    let mut held = None;
    rule.when.as_ref()?.visit(&mut |e| {
        let Expr::InBuckets(test) = e else { return };
        if held.is_some() {
            return;
        }
        let Some(space) = spaces.get(test.space as usize) else {
            return;
        };
        if space.name != holdout.name {
            return;
        }
        match test.check(buckets) {
            RangeCheck::All => held = Some(None),
            RangeCheck::In(_) => held = Some(Some((test, space))),
            _ => {}
        }
    });
    let (test, space) = held??;
    Some(Exposure {
        rule: rule_index,
        variant,
        unit: buckets.unit(space).ok()?.into_owned(),
        unit_source: space
            .unit
            .as_ref()
            .map_or_else(|| "targetingKey".to_owned(), |p| p.join(".")),
        weights: vec![(variant, test.size())],
        holdout: Some(&holdout.name),
    })
}
