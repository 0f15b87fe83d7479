//! The flagd custom operators, as flagd core defines them: each returns
//! `null` when its input is bad, which makes the flag fall back to its
//! default variant.

use std::borrow::Cow;

use serde_json::Value;

use super::{boolean, null, Env, Expr};
use crate::bucket::{bucket, murmur3_32};
use crate::expr::typed::version_text;
use crate::semver::{SemVerOp, Version};

/// Largest total weight of a `fractional` (flagd: `math.MaxInt32`).
const MAX_TOTAL_WEIGHT: u64 = i32::MAX as u64;

/// `fractional`: `[bucketing?, [variant, weight?], ...]`.
///
/// The optional first argument is the bucketing value and must evaluate to
/// a string. Without it (the first argument evaluates to an array, i.e. an
/// entry) the bucketing string is the flag key followed directly by the
/// context's `targetingKey`. Each entry is an array whose first element is
/// the variant (a string, boolean, number or `null`) and whose second is a
/// whole-number weight (absent or `null`: 1; negative: 0). The bucket is
/// `(murmur3_x86_32(string) * total) >> 32` and the first entry whose
/// cumulative weight exceeds it wins; its variant value is the result.
///
/// `null` when: there are no arguments; the bucketing value is not a
/// string; there is no bucketing value and no string targeting key; an
/// entry is not a non-empty array; a variant is an array or object; a
/// weight is not a whole number; the weights total 0 or more than
/// 2,147,483,647.
pub(super) fn fractional<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let Some(first) = args.first() else {
        return null();
    };
    let (hash, entries) = match first.eval(env).as_ref() {
        Value::String(key) => (
            murmur3_32(&[key.as_bytes()]),
            args.get(1..).unwrap_or_default(),
        ),
        Value::Array(_) => match env.data.member("targetingKey") {
            Some(Value::String(key)) => {
                (murmur3_32(&[env.flag_key.as_bytes(), key.as_bytes()]), args)
            }
            _ => return null(),
        },
        _ => return null(),
    };
    // First pass: validate every entry and total the weights, as flagd does
    // before it distributes. The second pass reads the weights again rather
    // than collecting them, so a split allocates nothing.
    let mut total = 0u64;
    for e in entries {
        match entry_weight(e, env) {
            Some(weight) => total += weight,
            None => return null(),
        }
        if total > MAX_TOTAL_WEIGHT {
            return null();
        }
    }
    if total == 0 {
        return null();
    }
    let target = bucket(hash, total);
    let mut cumulative = 0u64;
    for e in entries {
        cumulative += entry_weight(e, env).unwrap_or(0);
        if target < cumulative {
            return entry_variant(e, env).unwrap_or_else(null);
        }
    }
    null()
}

/// The weight of one `fractional` entry, `None` when the entry is
/// malformed: not a non-empty array, a variant that is an array or object,
/// or a bad weight.
fn entry_weight<'a>(e: &'a Expr, env: &Env<'a>) -> Option<u64> {
    match e {
        // The common case, a literal entry: read it without evaluating.
        Expr::Lit(Value::Array(items)) => checked_weight(items.first()?, items.get(1)),
        // An entry with logic inside: evaluate its two elements in place.
        Expr::Array(items) => {
            let variant = items.first()?.eval(env);
            let weight = items.get(1).map(|w| w.eval(env));
            checked_weight(&variant, weight.as_deref())
        }
        other => match other.eval(env).as_ref() {
            Value::Array(items) => checked_weight(items.first()?, items.get(1)),
            _ => None,
        },
    }
}

/// The variant value of an entry that [`entry_weight`] accepted.
fn entry_variant<'a>(e: &'a Expr, env: &Env<'a>) -> Option<Cow<'a, Value>> {
    match e {
        Expr::Lit(Value::Array(items)) => items.first().map(Cow::Borrowed),
        Expr::Array(items) => items.first().map(|v| v.eval(env)),
        other => match other.eval(env) {
            Cow::Borrowed(Value::Array(items)) => items.first().map(Cow::Borrowed),
            Cow::Owned(Value::Array(items)) => items.into_iter().next().map(Cow::Owned),
            _ => None,
        },
    }
}

fn checked_weight(variant: &Value, weight: Option<&Value>) -> Option<u64> {
    match variant {
        Value::Array(_) | Value::Object(_) => None,
        _ => weight_of(weight),
    }
}

/// A weight: absent or `null` is 1; a whole number, negatives counting 0;
/// anything else (fractions, strings, more than 2,147,483,647) is malformed.
fn weight_of(weight: Option<&Value>) -> Option<u64> {
    let n = match weight {
        None | Some(Value::Null) => return Some(1),
        Some(Value::Number(n)) => n,
        Some(_) => return None,
    };
    let w = if let Some(u) = n.as_u64() {
        u
    } else if n.as_i64().is_some() {
        0 // a negative integer
    } else {
        let f = n.as_f64()?;
        if f.fract() != 0.0 {
            return None;
        }
        if f < 0.0 {
            0
        } else if f > MAX_TOTAL_WEIGHT as f64 {
            return None;
        } else {
            f as u64
        }
    };
    (w <= MAX_TOTAL_WEIGHT).then_some(w)
}

/// `sem_ver`: `[version, operator, version]` → whether the comparison holds
/// (see [`crate::semver`] for the grammar and [`SemVerOp`] for the
/// operators). A number on either side is read as JavaScript writes it
/// (`1.0` → `"1"`, `1.2` → `"1.2"`); where that differs from Go's spelling
/// (exponents) neither is a valid version.
///
/// `null` when: not exactly three arguments; the operator is not a string
/// flagd knows; a side is neither a string nor a number, or not a valid
/// version.
pub(super) fn sem_ver<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let [lhs, op, rhs] = args else {
        return null();
    };
    let op = op.eval(env);
    let Some(op) = op.as_str().and_then(SemVerOp::parse) else {
        return null();
    };
    let (lhs, rhs) = (lhs.eval(env), rhs.eval(env));
    let (Some(lhs), Some(rhs)) = (version_text(&lhs), version_text(&rhs)) else {
        return null();
    };
    match (Version::parse(&lhs), Version::parse(&rhs)) {
        (Ok(l), Ok(r)) => boolean(op.holds(&l, &r)),
        _ => null(),
    }
}

/// `starts_with`: `[text, prefix]`, both strings → whether `text` starts
/// with `prefix` (case-sensitive); `null` otherwise.
pub(super) fn starts_with<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    two_strings(args, env, |text, prefix| text.starts_with(prefix))
}

/// `ends_with`: `[text, suffix]`, both strings → whether `text` ends with
/// `suffix` (case-sensitive); `null` otherwise.
pub(super) fn ends_with<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    two_strings(args, env, |text, suffix| text.ends_with(suffix))
}

fn two_strings<'a>(
    args: &'a [Expr],
    env: &Env<'a>,
    test: impl Fn(&str, &str) -> bool,
) -> Cow<'a, Value> {
    let [a, b] = args else {
        return null();
    };
    let (a, b) = (a.eval(env), b.eval(env));
    match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => boolean(test(a, b)),
        _ => null(),
    }
}
