//! Lowering flagd JsonLogic targeting to the typed path: ordered rules with
//! typed tests and variant indices, which the resolver evaluates without
//! building JSON values or finding variants by name.
//!
//! Only shapes whose lowered form gives the same result (variant, reason,
//! error) for every context are lowered; anything else stays JsonLogic.
//!
//! - The targeting is an `if` chain (`[c1, r1, c2, r2, ..., else?]`, an
//!   `else` that is itself such a chain included) or a bare result. Each
//!   result `r` is a literal naming a variant of the flag (a string, a
//!   boolean read as `"true"`/`"false"`, a number as JavaScript writes it:
//!   the resolver's JsonLogic path names variants that way), a `fractional`
//!   with literal entries, or, as the `else`, `null` (the default variant,
//!   reason `DEFAULT`: what a flag whose rules all fail gives). Each `ci`
//!   becomes the rule's condition; a rule's serve is then `TARGETING_MATCH`
//!   like the JsonLogic result.
//! - Conditions are only read for truthiness, so inside them
//!   (through `and`, `or`, `!`, `!!`) `starts_with`/`ends_with` of a `var`
//!   and a literal string become typed tests: both give a truthy value
//!   exactly when the attribute is a string with that prefix or suffix
//!   (flagd's operator returns `null` otherwise, the test `false`); `in` of
//!   a `var` and a literal string set becomes a typed set test (`in`
//!   compares strictly, so only a string can be a member), and so does `in`
//!   of a `var` and a literal array of numbers (`===` on numbers is the
//!   set's numeric equality while its integers stay within 2^53); `sem_ver` of a
//!   `var` and a literal version (on either side) with a literal operator
//!   becomes [`Test::FlagdSemVer`], the version parsed here once: it reads
//!   the attribute as `sem_ver` does (a string, or a number as JavaScript
//!   writes it) and is `false` where `sem_ver` is `null`.
//! - `fractional` with literal entries and the targeting key (no bucketing
//!   argument) becomes [`Serve::Fractional`]: the same hash, bucket and
//!   weights, and a missing targeting key serves the default with
//!   `DEFAULT`, as flagd's `null` does. With a literal bucketing string
//!   every context lands in the same bucket, so it becomes that variant.
//!
//! `var` paths are kept only where the JsonLogic walk and the typed
//! attribute lookup agree: no segment that one of them would read as an
//! array index and the other not (`"01"`, `"+1"`).

use serde_json::Value;
use vane_resolver::bucket::{murmur3_32, place};
use vane_resolver::expr::typed::{version_text, SemVer, Set};
use vane_resolver::expr::{Expr, Op, Path, Test};
use vane_resolver::semver::SemVerOp;
use vane_resolver::{Fractional, Rule, Serve, Variant};

/// Largest total weight flagd distributes (`math.MaxInt32`).
const MAX_TOTAL_WEIGHT: u64 = i32::MAX as u64;

/// The rules equivalent to `targeting`, or `None` when its shape is not one
/// this module proves equivalent.
pub fn rules(targeting: &Expr, variants: &[Variant]) -> Option<Vec<Rule>> {
    let mut rules = Vec::new();
    chain(targeting, variants, &mut rules)?;
    Some(rules)
}

/// What a result position yields.
enum Outcome {
    /// `null`: the default variant, reason `DEFAULT`.
    Default,
    /// A rule that matches serves this.
    Serve(Serve),
}

fn chain(e: &Expr, variants: &[Variant], rules: &mut Vec<Rule>) -> Option<()> {
    let Expr::Op(Op::If, args) = e else {
        if let Outcome::Serve(serve) = outcome(e, variants)? {
            rules.push(rule(None, serve));
        }
        return Some(());
    };
    let mut pairs = args.chunks_exact(2);
    for pair in &mut pairs {
        // A `null` result before the end would stop the chain with the
        // default; rules cannot say that, so such chains stay JsonLogic.
        let Outcome::Serve(serve) = outcome(&pair[1], variants)? else {
            return None;
        };
        rules.push(rule(Some(condition(&pair[0])), serve));
    }
    match pairs.remainder().first() {
        None => Some(()),
        Some(otherwise) => chain(otherwise, variants, rules),
    }
}

fn rule(when: Option<Expr>, serve: Serve) -> Rule {
    Rule {
        when,
        serve,
        active_from: None,
        active_until: None,
    }
}

fn outcome(e: &Expr, variants: &[Variant]) -> Option<Outcome> {
    match e {
        Expr::Lit(Value::Null) => Some(Outcome::Default),
        Expr::Lit(name) => variant_index(name, variants).map(|i| Outcome::Serve(Serve::Variant(i))),
        Expr::Op(Op::Fractional, args) => fractional(args, variants).map(Outcome::Serve),
        _ => None,
    }
}

/// The index of the variant a literal result names, as the resolver's
/// JsonLogic path reads it.
fn variant_index(name: &Value, variants: &[Variant]) -> Option<u32> {
    let text = match name {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => vane_resolver::expr::number_to_js_string(n),
        _ => return None,
    };
    let i = variants.iter().position(|v| v.name == text)?;
    u32::try_from(i).ok()
}

/// `fractional` with literal entries `[variant, weight?]`, bucketed by the
/// targeting key (no bucketing argument) or a literal string. (A `var`
/// bucketing argument stays JsonLogic: when the attribute is an array,
/// flagd reads it as the first entry.)
fn fractional(args: &[Expr], variants: &[Variant]) -> Option<Serve> {
    let (literal, entries) = match args.first()? {
        Expr::Lit(Value::Array(_)) => (None, args),
        Expr::Lit(Value::String(s)) => (Some(s), &args[1..]),
        _ => return None,
    };
    let mut weights = Vec::with_capacity(entries.len());
    let mut total = 0u64;
    for entry in entries {
        let Expr::Lit(Value::Array(items)) = entry else {
            return None;
        };
        let variant = variant_index(items.first()?, variants)?;
        let weight = weight(items.get(1))?;
        total += weight;
        if total > MAX_TOTAL_WEIGHT {
            return None;
        }
        weights.push((variant, u32::try_from(weight).ok()?));
    }
    if total == 0 {
        return None;
    }
    match literal {
        None => Some(Serve::Fractional(Fractional { weights })),
        Some(s) => {
            let slot = place(
                murmur3_32(&[s.as_bytes()]),
                weights.iter().map(|&(_, w)| u64::from(w)),
            )?;
            Some(Serve::Variant(weights[slot.index].0))
        }
    }
}

/// A literal `fractional` weight as flagd reads it: absent or `null` is 1,
/// a negative whole number 0; `None` for anything that makes `fractional`
/// return `null` (left to the JsonLogic path).
fn weight(w: Option<&Value>) -> Option<u64> {
    match w {
        None | Some(Value::Null) => Some(1),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                (u <= MAX_TOTAL_WEIGHT).then_some(u)
            } else if n.as_i64().is_some() {
                Some(0)
            } else {
                None
            }
        }
        Some(_) => None,
    }
}

/// A condition, read for truthiness only: typed tests where they agree.
fn condition(e: &Expr) -> Expr {
    match e {
        Expr::Op(op @ (Op::And | Op::Or), args) => {
            Expr::Op(*op, args.iter().map(condition).collect())
        }
        Expr::Op(op @ (Op::Not | Op::Truthy), args) if args.len() == 1 => {
            Expr::Op(*op, vec![condition(&args[0])])
        }
        Expr::Op(op @ (Op::StartsWith | Op::EndsWith), args) => match args.as_slice() {
            [Expr::Var(path), Expr::Lit(Value::String(s))] if agreeing_path(path) => {
                let test = match op {
                    Op::StartsWith => Test::StartsWith(s.clone()),
                    _ => Test::EndsWith(s.clone()),
                };
                Expr::Test(path.clone(), test)
            }
            _ => e.clone(),
        },
        Expr::Op(Op::SemVer, args) => semver_test(args).unwrap_or_else(|| e.clone()),
        Expr::Op(Op::In, args) => number_set_test(args).unwrap_or_else(|| e.clone()),
        Expr::InSet(needle, set) => match needle.as_ref() {
            Expr::Var(path) if agreeing_path(path) => {
                Expr::Test(path.clone(), Test::In(Set::Strings(set.clone())))
            }
            _ => e.clone(),
        },
        other => other.clone(),
    }
}

/// Integers from −(2^53 − 1) to 2^53 − 1: a 64-bit float holds each
/// exactly and no other integer rounds to one of them.
const MAX_EXACT_INTEGER: u64 = (1 << 53) - 1;

/// `in` of a `var` and a literal array of numbers: a typed number-set test.
/// `in` finds a member with `===` (numbers equal as 64-bit floats, nothing
/// else equals a number); the set compares integers exactly and anything
/// else as floats, which agree while no integer member lies beyond
/// 2^53 − 1 in magnitude (such sets stay JsonLogic).
fn number_set_test(args: &[Expr]) -> Option<Expr> {
    let [Expr::Var(path), Expr::Lit(Value::Array(items))] = args else {
        return None;
    };
    if !agreeing_path(path) {
        return None;
    }
    let exact = |n: &serde_json::Number| {
        n.is_f64()
            || n.as_i64()
                .is_some_and(|i| i.unsigned_abs() <= MAX_EXACT_INTEGER)
    };
    let numbers = items
        .iter()
        .map(|item| match item {
            Value::Number(n) if exact(n) => Some(n.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Expr::Test(path.clone(), Test::In(Set::numbers(numbers))))
}

/// `sem_ver` of a `var` and a literal version (either side) with a literal
/// operator: a typed test with the version parsed once, here. `None` for any
/// other arguments, and for a literal that is not a version (`sem_ver` is
/// then always `null`; the lint says so).
fn semver_test(args: &[Expr]) -> Option<Expr> {
    let (path, op, version, swapped) = match args {
        [Expr::Var(path), Expr::Lit(op), Expr::Lit(v)] => (path, op, v, false),
        [Expr::Lit(v), Expr::Lit(op), Expr::Var(path)] => (path, op, v, true),
        _ => return None,
    };
    if !agreeing_path(path) {
        return None;
    }
    let op = SemVerOp::parse(op.as_str()?)?;
    let version = SemVer::parse(&version_text(version)?).ok()?;
    let op = if swapped { op.swapped() } else { op };
    Some(Expr::Test(path.clone(), Test::FlagdSemVer(op, version)))
}

/// A non-empty path on which JsonLogic's `var` walk (array indices are
/// canonical decimals) and the typed lookup (any `usize` spelling) agree.
fn agreeing_path(path: &Path) -> bool {
    !path.is_empty()
        && path.iter().all(|seg| {
            let canonical = !seg.is_empty()
                && seg.bytes().all(|b| b.is_ascii_digit())
                && (seg.len() == 1 || !seg.starts_with('0'));
            canonical || seg.parse::<usize>().is_err()
        })
}
