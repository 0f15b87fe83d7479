//! Expression evaluation.
//!
//! JsonLogic operators behave as in json-logic-js, the reference
//! implementation whose test list (jsonlogic.com `tests.json`) is our
//! baseline: loose equality, truthiness and type coercion are JavaScript's
//! (see [`coerce`]), arguments that are absent act as `undefined`, and
//! operators that JavaScript would answer with `NaN` or an exception answer
//! `null` here. The flagd operators (`fractional`, `sem_ver`, `starts_with`,
//! `ends_with`) follow flagd core and return `null` on bad input (see
//! [`flagd`]).
//!
//! Speed: evaluation returns [`Cow`]s that borrow from the expression and
//! the data wherever it can, so `var` lookups, comparisons, `in` and the
//! flagd operators allocate nothing. Arguments are evaluated lazily: `if`,
//! `and` and `or` evaluate only what decides the result.
//!
//! Known differences from JavaScript, none of which a flag rule can rely on
//! in flagd either: `var` does not read string characters or the `length`
//! of arrays and strings, and array ToString stops below 64 levels.

use std::borrow::Cow;
use std::cell::RefCell;

use serde_json::{Map, Value};

use super::{Expr, Op, StrSet, Test};
use crate::assign::Materializations;
use crate::context::{self, Context};
use crate::space::BucketCache;

mod arith;
mod array;
mod coerce;
mod flagd;
mod text;

pub use coerce::number_to_js_string;

use coerce::{compare, loose_eq, strict_eq, to_js_string};

/// What an expression is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The data `var` reads: the context for a flag, the current element
    /// inside `map`/`filter`/`all`/`none`/`some`, and
    /// `{"current", "accumulator"}` inside `reduce`.
    pub data: Data<'a>,
    /// Evaluation time in Unix seconds (`$flagd.timestamp`, typed time tests).
    pub now: i64,
    /// Key of the flag being evaluated (`$flagd.flagKey`, the default
    /// bucketing string of `fractional`).
    pub flag_key: &'a str,
    /// The request's context and bucket hashes, for bucket-range tests
    /// (which read the unit from the context, not from `root`).
    pub buckets: &'a BucketCache<'a>,
    /// The request's sticky-assignment store, for membership tests
    /// ([`crate::expr::Member`]); `None` = empty.
    pub sticky: Option<&'a Materializations>,
    /// Where an undecided typed test is recorded ([`Undecided`]; see
    /// [`Env::recording_undecided`]); `None` = not recorded (the test is
    /// false).
    pub undecided: Option<&'a RefCell<Option<Undecided>>>,
}

/// What `var` reads: a request's context (its member table), or any JSON
/// value (the element `map` and friends pass, a test's data).
#[derive(Debug, Clone, Copy)]
pub enum Data<'a> {
    /// The evaluation context of the request.
    Context(&'a Context),
    /// A JSON value.
    Value(&'a Value),
}

impl<'a> Data<'a> {
    /// The whole data as one JSON value (`var ""`); a context's object is
    /// built on first use.
    fn whole(self) -> &'a Value {
        match self {
            Data::Context(c) => c.object(),
            Data::Value(v) => v,
        }
    }

    /// The first step of a `var` path: the context's member `name`, or a
    /// value's member or element ([`step`]).
    fn member(self, name: &str) -> Option<&'a Value> {
        match self {
            Data::Context(c) => c.member(name),
            Data::Value(v) => step(v, name),
        }
    }

    /// [`context::lookup`] of `path` in the data.
    fn lookup<S: AsRef<str>>(self, path: &[S]) -> Option<&'a Value> {
        match self {
            Data::Context(c) => c.lookup(path),
            Data::Value(v) => context::lookup(v, path),
        }
    }
}

/// A typed test that could not be decided: a regex test of an attribute
/// longer than [`super::typed::MAX_REGEX_INPUT`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    /// The attribute's path, dot-joined.
    pub path: String,
    /// Its length, bytes.
    pub len: usize,
}

impl Undecided {
    /// The `errorDetails` of the failed evaluation.
    pub fn details(&self) -> String {
        format!(
            "attribute '{}' is {} bytes long; a regex test reads at most {} bytes, so the \
             condition cannot be decided",
            self.path,
            self.len,
            super::typed::MAX_REGEX_INPUT
        )
    }
}

impl<'a> Env<'a> {
    /// The environment of one flag evaluation in a request: the context
    /// object as data, the context's evaluation time and the flag's key.
    pub fn new(buckets: &'a BucketCache<'a>, flag_key: &'a str) -> Env<'a> {
        let context: &'a Context = buckets.context();
        Env {
            data: Data::Context(context),
            now: context.now(),
            flag_key,
            buckets,
            sticky: None,
            undecided: None,
        }
    }

    /// The same environment with a sticky-assignment store.
    pub fn with_sticky(self, sticky: Option<&'a Materializations>) -> Env<'a> {
        Env { sticky, ..self }
    }

    /// The same environment recording an undecided typed test in `cell`:
    /// the caller then fails the flag's evaluation with its details
    /// (`INVALID_CONTEXT`), whatever the expression returned.
    pub fn recording_undecided(self, cell: &'a RefCell<Option<Undecided>>) -> Env<'a> {
        Env {
            undecided: Some(cell),
            ..self
        }
    }

    /// The same environment with other data (for `map` and friends).
    fn with_root<'b>(&self, root: &'b Value) -> Env<'b>
    where
        'a: 'b,
    {
        Env {
            data: Data::Value(root),
            now: self.now,
            flag_key: self.flag_key,
            buckets: self.buckets,
            sticky: self.sticky,
            undecided: self.undecided,
        }
    }
}

static NULL: Value = Value::Null;

fn null<'a>() -> Cow<'a, Value> {
    Cow::Borrowed(&NULL)
}

fn boolean<'a>(b: bool) -> Cow<'a, Value> {
    Cow::Owned(Value::Bool(b))
}

impl Expr {
    /// Evaluates the expression. Total: any data, however malformed, yields
    /// a value (`null` where JavaScript would yield `NaN`, `undefined` or an
    /// exception), never a panic.
    #[inline]
    pub fn eval<'a>(&'a self, env: &Env<'a>) -> Cow<'a, Value> {
        // Literals and context attributes are the most common arguments:
        // answer them in place, without a call returning a `Cow` in memory.
        match self {
            Expr::Lit(v) => Cow::Borrowed(v),
            Expr::Var(path) => Cow::Borrowed(walk(env.data, path).unwrap_or(&NULL)),
            other => other.eval_node(env),
        }
    }

    /// Whether the expression's value is truthy ([`truthy`]), as a rule's
    /// condition reads it: the same result and the same side effects as
    /// `truthy(&self.eval(env))`, but typed tests, sets and the boolean
    /// combinators answer without building a value.
    pub fn holds(&self, env: &Env<'_>) -> bool {
        match self {
            Expr::Test(path, test) => test_holds(path, test, env),
            Expr::InSet(needle, set) => in_set(needle, set, env),
            // `and` yields its first falsy argument or its last, `or` its
            // first truthy one or its last (`null` without arguments):
            // truthy exactly when all (any) of them are, evaluated in order
            // up to the one that decides.
            Expr::Op(Op::And, args) => !args.is_empty() && args.iter().all(|e| e.holds(env)),
            Expr::Op(Op::Or, args) => args.iter().any(|e| e.holds(env)),
            Expr::Op(Op::Not, args) => !args.first().is_some_and(|e| e.holds(env)),
            Expr::Op(Op::Truthy, args) => args.first().is_some_and(|e| e.holds(env)),
            Expr::InBuckets(test) => test.holds(env.buckets),
            Expr::InBitmap(test) => test.holds(env.buckets),
            other => truthy(&other.eval(env)),
        }
    }

    fn eval_node<'a>(&'a self, env: &Env<'a>) -> Cow<'a, Value> {
        match self {
            Expr::Lit(v) => Cow::Borrowed(v),
            Expr::Var(path) => Cow::Borrowed(walk(env.data, path).unwrap_or(&NULL)),
            Expr::VarOr(path, default) => match walk(env.data, path) {
                Some(v) => Cow::Borrowed(v),
                None => default.eval(env),
            },
            Expr::VarDyn(args) => var_dynamic(args, env),
            Expr::FlagKey => Cow::Owned(Value::String(env.flag_key.to_owned())),
            Expr::Timestamp => Cow::Owned(Value::from(env.now)),
            Expr::Array(items) => Cow::Owned(Value::Array(
                items.iter().map(|e| e.eval(env).into_owned()).collect(),
            )),
            Expr::Op(op, args) => apply(*op, args, env),
            Expr::InSet(needle, set) => boolean(in_set(needle, set, env)),
            Expr::Test(path, test) => boolean(test_holds(path, test, env)),
            Expr::InBuckets(test) => boolean(test.holds(env.buckets)),
            Expr::InBitmap(test) => boolean(test.holds(env.buckets)),
            Expr::Criterion(path, c) => boolean(c.matches(env.data.lookup(path))),
            Expr::Member(m) => boolean(m.holds(env.buckets.context(), env.sticky)),
        }
    }
}

/// `in` against a literal string set: only a string can be a member.
fn in_set(needle: &Expr, set: &StrSet, env: &Env<'_>) -> bool {
    match needle.eval(env).as_ref() {
        Value::String(s) => set.contains(s),
        _ => false,
    }
}

/// A typed test of the attribute at `path`, recording an undecided one.
fn test_holds(path: &[String], test: &Test, env: &Env<'_>) -> bool {
    let value = env.data.lookup(path);
    if let (Some(len), Some(cell)) = (test.undecided(value), env.undecided) {
        cell.replace(Some(Undecided {
            path: path.join("."),
            len,
        }));
    }
    test.matches(value, env.now)
}

/// JsonLogic truthiness (json-logic-js `truthy`): `false`, `null`, `0`, `""`
/// and `[]` are false; everything else, `"0"` and `{}` included, is true.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

/// The `i`th argument evaluated; `null` when absent.
fn arg<'a>(args: &'a [Expr], i: usize, env: &Env<'a>) -> Cow<'a, Value> {
    args.get(i).map_or_else(null, |e| e.eval(env))
}

fn apply<'a>(op: Op, args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    match op {
        Op::If => {
            let mut pairs = args.chunks_exact(2);
            for pair in &mut pairs {
                if let [condition, then] = pair {
                    if condition.holds(env) {
                        return then.eval(env);
                    }
                }
            }
            pairs.remainder().first().map_or_else(null, |e| e.eval(env))
        }
        Op::And | Op::Or => {
            let want = op == Op::Or;
            let mut last = null();
            for e in args {
                last = e.eval(env);
                if truthy(&last) == want {
                    break;
                }
            }
            last
        }
        Op::Not => boolean(!args.first().is_some_and(|e| e.holds(env))),
        Op::Truthy => boolean(args.first().is_some_and(|e| e.holds(env))),
        // An absent argument is `undefined`, which is loosely equal only to `null`.
        Op::Eq => boolean(loose_eq(&arg(args, 0, env), &arg(args, 1, env))),
        Op::NotEq => boolean(!loose_eq(&arg(args, 0, env), &arg(args, 1, env))),
        Op::StrictEq => boolean(strictly_equal(args, env)),
        Op::StrictNotEq => boolean(!strictly_equal(args, env)),
        Op::Lt => boolean(chain(args, env, |o| o.is_lt())),
        Op::Le => boolean(chain(args, env, |o| o.is_le())),
        Op::Gt => boolean(relation(args, env, |o| o.is_gt())),
        Op::Ge => boolean(relation(args, env, |o| o.is_ge())),
        Op::In => boolean(contains(&arg(args, 1, env), &arg(args, 0, env))),
        Op::Missing => Cow::Owned(Value::Array(missing(args, env))),
        Op::MissingSome => missing_some(args, env),
        Op::Cat => text::cat(args, env),
        Op::Substr => text::substr(args, env),
        Op::Add => arith::add(args, env),
        Op::Sub => arith::sub(args, env),
        Op::Mul => arith::mul(args, env),
        Op::Div => arith::div(args, env),
        Op::Mod => arith::rem(args, env),
        Op::Min => arith::min(args, env),
        Op::Max => arith::max(args, env),
        Op::Merge => array::merge(args, env),
        Op::Map => array::map(args, env),
        Op::Filter => array::filter(args, env),
        Op::Reduce => array::reduce(args, env),
        Op::All => array::all(args, env),
        Op::None => array::none(args, env),
        Op::Some => array::some(args, env),
        Op::Fractional => flagd::fractional(args, env),
        Op::SemVer => flagd::sem_ver(args, env),
        Op::StartsWith => flagd::starts_with(args, env),
        Op::EndsWith => flagd::ends_with(args, env),
    }
}

/// `===` with JavaScript's `undefined` for absent arguments (equal only to
/// another `undefined`).
fn strictly_equal<'a>(args: &'a [Expr], env: &Env<'a>) -> bool {
    match (args.first(), args.get(1)) {
        (Some(a), Some(b)) => strict_eq(&a.eval(env), &b.eval(env)),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// `a <op> b`, or with a third argument `a <op> b && b <op> c` (json-logic-js
/// "between"). Fewer than two arguments compare with `undefined`: false.
fn chain<'a>(args: &'a [Expr], env: &Env<'a>, holds: impl Fn(std::cmp::Ordering) -> bool) -> bool {
    let [a, b, rest @ ..] = args else {
        return false;
    };
    let b = b.eval(env);
    compare(&a.eval(env), &b).is_some_and(&holds)
        && rest
            .first()
            .is_none_or(|c| compare(&b, &c.eval(env)).is_some_and(&holds))
}

/// `a <op> b` (`>` and `>=` take no third argument in json-logic-js).
fn relation<'a>(
    args: &'a [Expr],
    env: &Env<'a>,
    holds: impl Fn(std::cmp::Ordering) -> bool,
) -> bool {
    let [a, b, ..] = args else {
        return false;
    };
    compare(&a.eval(env), &b.eval(env)).is_some_and(holds)
}

/// json-logic-js `in`: a substring of a non-empty string (the needle read as
/// a string), or a member of an array by strict equality; false otherwise.
fn contains(haystack: &Value, needle: &Value) -> bool {
    match haystack {
        Value::String(h) => !h.is_empty() && h.contains(to_js_string(needle).as_ref()),
        Value::Array(items) => items.iter().any(|item| strict_eq(item, needle)),
        _ => false,
    }
}

/// Walks `path` from `root` as json-logic-js `var` does: object members by
/// name, array elements by canonical decimal index. `None` (missing) when a
/// step is absent or below a non-container; a final `null` is `Some(null)`.
#[inline]
fn walk<'v, S: AsRef<str>>(data: Data<'v>, path: &[S]) -> Option<&'v Value> {
    match path.split_first() {
        None => Some(data.whole()),
        Some((name, rest)) => rest
            .iter()
            .try_fold(data.member(name.as_ref())?, |v, seg| step(v, seg.as_ref())),
    }
}

fn step<'v>(v: &'v Value, seg: &str) -> Option<&'v Value> {
    match v {
        Value::Object(m) => m.get(seg),
        Value::Array(items) => array_index(seg).and_then(|i| items.get(i)),
        _ => None,
    }
}

/// An array index as JavaScript reads a property name: decimal digits
/// without a leading zero (`"01"` is not an index).
fn array_index(seg: &str) -> Option<usize> {
    let canonical = !seg.is_empty()
        && seg.bytes().all(|b| b.is_ascii_digit())
        && (seg.len() == 1 || !seg.starts_with('0'));
    canonical.then(|| seg.parse().ok()).flatten()
}

/// `var` with computed arguments: `[path, default]`.
fn var_dynamic<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let path = arg(args, 0, env);
    let found = match path.as_ref() {
        Value::Null => Some(Cow::Borrowed(env.data.whole())),
        Value::String(s) if s.is_empty() => Some(Cow::Borrowed(env.data.whole())),
        other => lookup_text(&to_js_string(other), env),
    };
    match found {
        Some(v) => v,
        None => args.get(1).map_or_else(null, |d| d.eval(env)),
    }
}

/// Looks up a dotted path given as text, answering `$flagd` paths (flagd
/// injects `$flagd.flagKey` and `$flagd.timestamp` into the data).
fn lookup_text<'a>(path: &str, env: &Env<'a>) -> Option<Cow<'a, Value>> {
    let mut segments = path.split('.');
    if path == "$flagd" || path.starts_with("$flagd.") {
        segments.next();
        return match (segments.next(), segments.next()) {
            (None, _) => Some(Cow::Owned(Value::Object(Map::from_iter([
                ("flagKey".to_owned(), Value::from(env.flag_key)),
                ("timestamp".to_owned(), Value::from(env.now)),
            ])))),
            (Some("flagKey"), None) => Some(Cow::Owned(Value::from(env.flag_key))),
            (Some("timestamp"), None) => Some(Cow::Owned(Value::from(env.now))),
            _ => None,
        };
    }
    let first = env.data.member(segments.next().unwrap_or_default());
    segments.try_fold(first?, step).map(Cow::Borrowed)
}

/// json-logic-js `missing`: the keys (the first argument when it is an
/// array, else all arguments) whose value is absent, `null` or `""`.
fn missing<'a>(args: &'a [Expr], env: &Env<'a>) -> Vec<Value> {
    let values: Vec<Cow<'a, Value>> = args.iter().map(|e| e.eval(env)).collect();
    let keys: &[Value] = match values.first().map(Cow::as_ref) {
        Some(Value::Array(items)) => items,
        _ => return missing_keys(values.iter().map(Cow::as_ref), env),
    };
    missing_keys(keys.iter(), env)
}

fn missing_keys<'k>(keys: impl Iterator<Item = &'k Value>, env: &Env<'_>) -> Vec<Value> {
    keys.filter(|key| {
        let value = match key {
            Value::Null => Some(Cow::Borrowed(env.data.whole())),
            Value::String(s) if s.is_empty() => Some(Cow::Borrowed(env.data.whole())),
            other => lookup_text(&to_js_string(other), env),
        };
        value.is_none_or(|v| match v.as_ref() {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        })
    })
    .cloned()
    .collect()
}

/// json-logic-js `missing_some`: `[need, keys]` → `[]` when at least `need`
/// of `keys` are present, else the missing keys.
fn missing_some<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let need = coerce::to_number(&arg(args, 0, env));
    let options = arg(args, 1, env);
    let (absent, total) = match options.as_ref() {
        Value::Array(keys) => (missing_keys(keys.iter(), env), Some(keys.len())),
        single => (missing_keys(std::iter::once(single), env), None),
    };
    let enough = total.is_some_and(|n| (n - absent.len()) as f64 >= need);
    Cow::Owned(Value::Array(if enough { Vec::new() } else { absent }))
}

#[cfg(test)]
mod tests;
