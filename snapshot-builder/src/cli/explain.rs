//! `vane eval --explain`: the resolver's explanation of one evaluation as
//! text for a terminal (the playground draws the same data).

use std::fmt::Write;

use vane_resolver::explain::{BucketStep, Read, RuleOutcome, Serves, TargetingKind};
use vane_resolver::Explanation;

/// Width of a layer's bar in characters.
const BAR: usize = 50;

/// The explanation as lines of text: the result, then every rule with its
/// outcome, the attributes it read, its bucket tests (a bar per layer or
/// holdout, `^` at the unit's bucket) and the split placement; for flagd
/// targeting that stays JsonLogic, what it evaluated to and what it read.
pub fn text(e: &Explanation<'_>) -> String {
    let mut out = String::new();
    let r = &e.result;
    let _ = writeln!(
        out,
        "{}: variant {} reason {}{}",
        e.flag_key,
        r.variant.unwrap_or("(none)"),
        r.reason.as_str(),
        r.error_details
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default()
    );
    for rule in &e.rules {
        let outcome = match rule.outcome {
            RuleOutcome::Matched => "matched",
            RuleOutcome::ConditionFalse => "condition false",
            RuleOutcome::NotYetActive => "not yet active",
            RuleOutcome::Expired => "expired",
            RuleOutcome::NotReached => "not reached",
        };
        let serves = match &rule.serves {
            Serves::Variant(v) => format!("serves {v}"),
            Serves::Split(s) => format!("splits by {} (salt {})", s.bucket_by, s.salt),
            Serves::Fractional(s) => format!("flagd fractional by {}", s.bucket_by),
            Serves::Holdout(h) => format!(
                "holdout {} serves {}",
                h.name,
                h.variant.unwrap_or("(none)")
            ),
        };
        let _ = writeln!(out, "  rule {}: {outcome}; {serves}", rule.index);
        reads(&mut out, &rule.reads);
        for step in &rule.buckets {
            bucket(&mut out, step);
        }
        if let Some(p) = &rule.placement {
            match (&p.unit, p.bucket, p.whole) {
                (_, _, true) => {
                    out.push_str("    split: all the weight on one variant, no unit needed\n")
                }
                (Some(u), Some(b), _) => {
                    let _ = writeln!(
                        out,
                        "    split: unit {u} -> hash {} -> bucket {b}",
                        p.hash.unwrap_or(0)
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "    split: {}",
                        p.error.as_deref().unwrap_or("no placement")
                    );
                }
            }
        }
    }
    if e.targeting == Some(TargetingKind::JsonLogic) {
        match &e.targeting_result {
            Some(v) => {
                let _ = writeln!(out, "  flagd JsonLogic targeting: evaluated to {v}");
            }
            None => out.push_str("  flagd JsonLogic targeting: not evaluated\n"),
        }
        reads(&mut out, &e.reads);
    }
    out
}

/// The attributes read, one `reads PATH = VALUE` line each.
fn reads(out: &mut String, reads: &[Read]) {
    for read in reads {
        let value = read
            .value
            .as_ref()
            .map_or("missing".to_owned(), |v| v.to_string());
        let _ = writeln!(out, "    reads {} = {value}", read.path);
    }
}

/// One bucket test: the space, the unit and bucket, and the space as a bar.
fn bucket(out: &mut String, s: &BucketStep<'_>) {
    let unit = match (&s.unit, s.bucket) {
        (Some(u), Some(b)) => format!("unit {}={u} -> bucket {b} of {}", s.unit_by, s.count),
        _ => format!("no unit needed or none in the context ({})", s.unit_by),
    };
    let _ = writeln!(
        out,
        "    {} {} (salt {}): {unit}; {}",
        if s.slots.len() > 1 { "layer" } else { "space" },
        s.space,
        s.salt,
        if s.holds {
            "in this rule's range"
        } else {
            "not in this rule's range"
        }
    );
    let at = |b: u64| (b as u128 * BAR as u128 / s.count as u128) as usize;
    let mut bar = ['.'; BAR];
    for (i, slot) in s.slots.iter().enumerate() {
        let mark = char::from(b'A' + (i % 26) as u8);
        for &(lo, hi) in slot.ranges {
            for c in bar
                .iter_mut()
                .take(at(hi).max(at(lo) + 1).min(BAR))
                .skip(at(lo))
            {
                *c = mark;
            }
        }
    }
    let _ = writeln!(out, "      |{}|", bar.iter().collect::<String>());
    if let Some(b) = s.bucket {
        let _ = writeln!(out, "       {}^", " ".repeat(at(b).min(BAR - 1)));
    }
    for (i, slot) in s.slots.iter().enumerate() {
        let mark = char::from(b'A' + (i % 26) as u8);
        let fell = if s.fell_into == Some(i) {
            "  <- the unit fell here"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "      {mark} {:?} {}{fell}",
            slot.ranges,
            slot.flags.join(", ")
        );
    }
}
