//! Array operators: `merge`, and the iterating `map`, `filter`, `reduce`,
//! `all`, `none`, `some`, whose logic runs with the current element (for
//! `reduce`: `{"current", "accumulator"}`) as its data.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{arg, boolean, null, Env, Expr};

/// Largest accumulator `reduce` builds, in JSON nodes plus string bytes, and
/// its deepest nesting. A rule that grows its accumulator past them (by
/// doubling it each step, say) gets `null` instead of exhausting memory.
const MAX_ACCUMULATOR_SIZE: usize = 1 << 20;
const MAX_ACCUMULATOR_DEPTH: usize = 128;

/// `merge`: the arguments concatenated, arrays flattened one level.
pub(super) fn merge<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let mut out = Vec::new();
    for e in args {
        match e.eval(env) {
            Cow::Owned(Value::Array(items)) => out.extend(items),
            Cow::Borrowed(Value::Array(items)) => out.extend(items.iter().cloned()),
            other => out.push(other.into_owned()),
        }
    }
    Cow::Owned(Value::Array(out))
}

/// Calls `f` with the elements of the first argument (evaluated) and the
/// logic (second argument); `None` when the first argument is not an array.
fn over<'a, T>(
    args: &'a [Expr],
    env: &Env<'a>,
    f: impl FnOnce(&[Value], Option<&'a Expr>) -> T,
) -> Option<T> {
    let data = arg(args, 0, env);
    match data.as_ref() {
        Value::Array(items) => Some(f(items, args.get(1))),
        _ => None,
    }
}

/// The logic evaluated with `item` as data; absent logic is `null`.
fn run<'b>(logic: Option<&'b Expr>, item: &'b Value, env: &Env<'b>) -> Value {
    logic.map_or(Value::Null, |l| l.eval(&env.with_root(item)).into_owned())
}

fn holds<'b>(logic: Option<&'b Expr>, item: &'b Value, env: &Env<'b>) -> bool {
    logic.is_some_and(|l| l.holds(&env.with_root(item)))
}

/// `map`: the logic applied to each element; `[]` when the data is not an array.
pub(super) fn map<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let out = over(args, env, |items, logic| {
        items.iter().map(|item| run(logic, item, env)).collect()
    });
    Cow::Owned(Value::Array(out.unwrap_or_default()))
}

/// `filter`: the elements for which the logic is truthy; `[]` when the data
/// is not an array.
pub(super) fn filter<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let out = over(args, env, |items, logic| {
        items
            .iter()
            .filter(|item| holds(logic, item, env))
            .cloned()
            .collect()
    });
    Cow::Owned(Value::Array(out.unwrap_or_default()))
}

/// `all`: true when the data is a non-empty array and the logic is truthy
/// for every element.
pub(super) fn all<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let result = over(args, env, |items, logic| {
        !items.is_empty() && items.iter().all(|item| holds(logic, item, env))
    });
    boolean(result.unwrap_or(false))
}

/// `none`: true when the logic is truthy for no element (and for data that
/// is not an array).
pub(super) fn none<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let any = over(args, env, |items, logic| {
        items.iter().any(|item| holds(logic, item, env))
    });
    boolean(!any.unwrap_or(false))
}

/// `some`: true when the logic is truthy for at least one element.
pub(super) fn some<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let any = over(args, env, |items, logic| {
        items.iter().any(|item| holds(logic, item, env))
    });
    boolean(any.unwrap_or(false))
}

/// `reduce`: `[data, logic, initial]`; the logic folds each element into
/// the accumulator (initially `initial`, or `null`). Data that is not an
/// array gives `initial`.
pub(super) fn reduce<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let initial = arg(args, 2, env);
    let data = arg(args, 0, env);
    let Value::Array(items) = data.as_ref() else {
        return initial;
    };
    let mut accumulator = initial.into_owned();
    for item in items {
        let scope = Value::Object(Map::from_iter([
            ("current".to_owned(), item.clone()),
            ("accumulator".to_owned(), accumulator),
        ]));
        accumulator = run(args.get(1), &scope, env);
        if oversized(&accumulator) {
            return null();
        }
    }
    Cow::Owned(accumulator)
}

/// True when `v` exceeds [`MAX_ACCUMULATOR_SIZE`] or
/// [`MAX_ACCUMULATOR_DEPTH`]. Iterative, and stops at the first excess.
fn oversized(v: &Value) -> bool {
    match v {
        Value::Array(_) | Value::Object(_) => {}
        Value::String(s) => return s.len() > MAX_ACCUMULATOR_SIZE,
        _ => return false,
    }
    let mut size = 0usize;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        size += 1;
        match v {
            Value::String(s) => size += s.len(),
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            Value::Object(m) => {
                size += m.keys().map(String::len).sum::<usize>();
                stack.extend(m.values().map(|c| (c, depth + 1)));
            }
            _ => {}
        }
        if size > MAX_ACCUMULATOR_SIZE || depth > MAX_ACCUMULATOR_DEPTH {
            return true;
        }
    }
    false
}
