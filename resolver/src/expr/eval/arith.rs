//! Arithmetic and `min`/`max` (json-logic-js semantics): `+` and `*` read
//! their arguments with `parseFloat`, `-`, `/` and `%` with ToNumber, `min`
//! and `max` with ToNumber too. Results that are not finite numbers (NaN,
//! division by zero) are `null`; whole results are JSON integers.

use std::borrow::Cow;

use serde_json::Value;

use super::coerce::{number_value, parse_float, to_number};
use super::{null, Env, Expr};

fn number<'a>(f: f64) -> Cow<'a, Value> {
    Cow::Owned(number_value(f))
}

/// `+`: the sum of all arguments (0 for none; `{"+": "3"}` casts to 3).
pub(super) fn add<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    number(args.iter().map(|e| parse_float(&e.eval(env))).sum())
}

/// `*`: the product of all arguments; `null` for none.
pub(super) fn mul<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    if args.is_empty() {
        return null();
    }
    number(args.iter().map(|e| parse_float(&e.eval(env))).product())
}

/// `-`: `a - b`, or `-a` with one argument.
pub(super) fn sub<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    match args {
        [] => null(),
        [a] => number(-to_number(&a.eval(env))),
        [a, b, ..] => number(to_number(&a.eval(env)) - to_number(&b.eval(env))),
    }
}

/// `/`: `a / b`.
pub(super) fn div<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    binary(args, env, |a, b| a / b)
}

/// `%`: the remainder of `a / b`, with the sign of `a` (JavaScript `%`).
pub(super) fn rem<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    binary(args, env, |a, b| a % b)
}

fn binary<'a>(args: &'a [Expr], env: &Env<'a>, f: impl Fn(f64, f64) -> f64) -> Cow<'a, Value> {
    match args {
        [a, b, ..] => number(f(to_number(&a.eval(env)), to_number(&b.eval(env)))),
        _ => null(),
    }
}

/// `min`: the smallest argument; `null` for none or when one is not a number.
pub(super) fn min<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    extreme(args, env, f64::min)
}

/// `max`: the largest argument; `null` for none or when one is not a number.
pub(super) fn max<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    extreme(args, env, f64::max)
}

fn extreme<'a>(args: &'a [Expr], env: &Env<'a>, pick: fn(f64, f64) -> f64) -> Cow<'a, Value> {
    let mut best: Option<f64> = None;
    for e in args {
        let x = to_number(&e.eval(env));
        if x.is_nan() {
            return null();
        }
        best = Some(best.map_or(x, |b| pick(b, x)));
    }
    best.map_or_else(null, number)
}
