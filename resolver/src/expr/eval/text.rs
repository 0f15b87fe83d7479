//! String operators: `cat` and `substr` (json-logic-js semantics; `substr`
//! counts characters).

use std::borrow::Cow;

use serde_json::Value;

use super::coerce::{push_join_element, to_js_string, to_number};
use super::{arg, Env, Expr};

/// `cat`: the arguments joined as `Array.prototype.join("")` joins them
/// (`null` is empty, numbers as JavaScript prints them, arrays with `,`).
pub(super) fn cat<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    if let [only] = args {
        let v = only.eval(env);
        if v.is_string() {
            return v;
        }
        let mut out = String::new();
        push_join_element(&mut out, &v);
        return Cow::Owned(Value::String(out));
    }
    let mut out = String::new();
    for e in args {
        push_join_element(&mut out, &e.eval(env));
    }
    Cow::Owned(Value::String(out))
}

/// `substr`: `[source, start, end]` as json-logic-js: the source read as a
/// string (`null` → `"null"`); a negative `start` counts from the end; a
/// non-negative `end` is a length, a negative one leaves that many
/// characters off the end. Positions are characters (Unicode scalar values).
pub(super) fn substr<'a>(args: &'a [Expr], env: &Env<'a>) -> Cow<'a, Value> {
    let source = arg(args, 0, env);
    let text = to_js_string(&source);
    let size = text.chars().count();
    let start = args.get(1).map_or(0.0, |e| to_number(&e.eval(env)));
    let (from, to) = match args.get(2).map(|e| to_number(&e.eval(env))) {
        Some(end) if end < 0.0 => {
            let (from, to) = js_substr(size, start, None);
            let (skip, keep) = js_substr(to - from, 0.0, Some((to - from) as f64 + end));
            (from + skip, from + keep)
        }
        length => js_substr(size, start, length),
    };
    Cow::Owned(Value::String(char_slice(&text, from, to).to_owned()))
}

/// `String.prototype.substr(start, length)` on `size` characters: the
/// character range `[from, to)`.
fn js_substr(size: usize, start: f64, length: Option<f64>) -> (usize, usize) {
    let size_f = size as f64;
    let start = to_integer(start);
    let from = if start < 0.0 {
        (size_f + start).max(0.0)
    } else {
        start.min(size_f)
    };
    let length = length.map_or(size_f, to_integer);
    let to = (from + length).min(size_f).max(from);
    // Both are whole numbers in [0, size] here.
    (from as usize, to as usize)
}

/// ECMAScript ToIntegerOrInfinity: NaN → 0, otherwise truncated toward zero.
fn to_integer(f: f64) -> f64 {
    if f.is_nan() {
        0.0
    } else {
        f.trunc()
    }
}

/// Characters `[from, to)` of `s`.
fn char_slice(s: &str, from: usize, to: usize) -> &str {
    let byte = |n: usize| s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    &s[byte(from)..byte(to)]
}
