//! JavaScript's value coercions, which JsonLogic inherits from its reference
//! implementation (json-logic-js): ToNumber, `parseFloat`, ToString, loose
//! (`==`) and strict (`===`) equality and relational comparison, as
//! ECMA-262 defines them, over JSON values.
//!
//! Two JSON arrays or objects are never equal: in JavaScript they are
//! distinct objects, and `==`/`===` compare objects by identity.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

/// Nested arrays deeper than this are written as `""` by [`to_js_string`],
/// which bounds its recursion whatever a rule builds.
const MAX_JOIN_DEPTH: usize = 64;

/// ECMAScript ToNumber: `null` → 0, booleans → 0/1, strings parsed as
/// numeric literals (NaN when they are not), arrays through their string
/// form (`[]` → 0, `[5]` → 5), objects → NaN.
pub(super) fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => number_f64(n),
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&to_js_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

/// A JSON number as a double (serde_json keeps integers exactly; JavaScript
/// sees doubles).
pub(super) fn number_f64(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// ECMAScript StringToNumber: surrounding white space is ignored, the empty
/// string is 0, `Infinity`, decimal literals and `0x`/`0o`/`0b` integers are
/// numbers, anything else is NaN.
pub(super) fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_js_space);
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return radix_integer(digits, radix);
        }
    }
    // Rust's float grammar equals ECMAScript's StrDecimalLiteral once the
    // words Rust also accepts (inf, nan) are excluded.
    if t.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        t.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

fn radix_integer(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    digits
        .chars()
        .try_fold(0.0, |acc, c| {
            c.to_digit(radix)
                .map(|d| acc * f64::from(radix) + f64::from(d))
        })
        .unwrap_or(f64::NAN)
}

/// JavaScript `parseFloat(String(v))`, which json-logic-js uses for `+` and
/// `*`: the longest decimal prefix after leading white space (`"12px"` → 12);
/// NaN when there is none (`null`, booleans, `""`).
pub(super) fn parse_float(v: &Value) -> f64 {
    match v {
        Value::Number(n) => number_f64(n),
        Value::String(s) => parse_float_str(s),
        other => parse_float_str(&to_js_string(other)),
    }
}

fn parse_float_str(s: &str) -> f64 {
    let t = s.trim_start_matches(is_js_space);
    let b = t.as_bytes();
    let sign = b.first().copied().filter(|c| matches!(c, b'+' | b'-'));
    let mut i = usize::from(sign.is_some());
    if t.get(i..).is_some_and(|rest| rest.starts_with("Infinity")) {
        return if sign == Some(b'-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let digits = |from: usize| {
        b.iter()
            .skip(from)
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let int_digits = digits(i);
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        frac_digits = digits(i + 1);
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return f64::NAN;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        let exp_digits = digits(i + 1 + sign);
        if exp_digits > 0 {
            i += 1 + sign + exp_digits;
        }
    }
    t.get(..i).and_then(|n| n.parse().ok()).unwrap_or(f64::NAN)
}

/// ECMAScript white space and line terminators (what `String.prototype.trim`
/// and ToNumber strip).
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// ECMAScript ToString: `null` → `"null"`, numbers as JavaScript prints them
/// (`1.0` → `"1"`, `1e21` → `"1e+21"`), arrays joined with `,` (their `null`
/// elements empty), objects → `"[object Object]"`.
pub(super) fn to_js_string(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(number_to_js_string(n)),
        Value::Array(items) => {
            let mut out = String::new();
            join_into(&mut out, items, 0);
            Cow::Owned(out)
        }
        Value::Object(_) => Cow::Borrowed("[object Object]"),
    }
}

/// Appends `v` as `Array.prototype.join` writes an element: `null` is empty,
/// anything else is its ToString.
pub(super) fn push_join_element(out: &mut String, v: &Value) {
    push_element(out, v, 0);
}

fn push_element(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => {}
        Value::Array(items) => join_into(out, items, depth + 1),
        other => out.push_str(&to_js_string(other)),
    }
}

fn join_into(out: &mut String, items: &[Value], depth: usize) {
    if depth >= MAX_JOIN_DEPTH {
        return;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_element(out, item, depth);
    }
}

/// A JSON number as JavaScript's `Number.prototype.toString` writes it.
pub fn number_to_js_string(n: &Number) -> String {
    match n.as_i64() {
        // Exactly representable as a double: the digits are the same.
        Some(i) if i.unsigned_abs() <= 1 << 53 => i.to_string(),
        _ => f64_to_js_string(number_f64(n)),
    }
}

/// A double as JavaScript writes it: the shortest digits that read back the
/// same, in positional notation for 1e-6 ≤ |x| < 1e21 and exponential
/// (`1.5e-7`, `1e+21`) outside.
pub(super) fn f64_to_js_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    let magnitude = f.abs();
    if (1e-6..1e21).contains(&magnitude) {
        // Rust's Display is the shortest round-trip form, positional.
        format!("{f}")
    } else {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    }
}

/// JavaScript `a == b` on JSON values.
pub(super) fn loose_eq(a: &Value, b: &Value) -> bool {
    use Value::{Array, Bool, Null, Number, Object, String};
    match (a, b) {
        (Null, Null) => true,
        (Null, _) | (_, Null) => false,
        (Number(x), Number(y)) => number_f64(x) == number_f64(y),
        (String(x), String(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (Array(_) | Object(_), Array(_) | Object(_)) => false,
        (Bool(x), other) | (other, Bool(x)) => number_loose_eq(f64::from(u8::from(*x)), other),
        (Number(x), other) | (other, Number(x)) => number_loose_eq(number_f64(x), other),
        // One side is a string, the other an array or object: compare their strings.
        (String(x), other) | (other, String(x)) => *x == to_js_string(other),
    }
}

/// `n == other` where `other` is not `null`: `other` becomes a number
/// (strings parsed, arrays through their string form).
fn number_loose_eq(n: f64, other: &Value) -> bool {
    n == to_number(other)
}

/// JavaScript `a === b` on JSON values: same type and value; numbers by
/// value (`1 === 1.0`); arrays and objects never.
pub(super) fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => number_f64(x) == number_f64(y),
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// JavaScript's relational comparison of `a` and `b`: two strings (arrays
/// and objects count by their string form) compare by UTF-16 code units,
/// anything else as numbers. `None` when a side is NaN: every relation is
/// then false.
pub(super) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Value::Number(x), Value::Number(y)) = (a, b) {
        return number_f64(x).partial_cmp(&number_f64(y));
    }
    let string_like =
        |v: &Value| matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_));
    if string_like(a) && string_like(b) {
        let (x, y) = (to_js_string(a), to_js_string(b));
        return Some(x.encode_utf16().cmp(y.encode_utf16()));
    }
    to_number(a).partial_cmp(&to_number(b))
}

/// A double as a JSON value: whole numbers in the `i64` range become JSON
/// integers (so `1 + 2` is `3`, not `3.0`), other finite numbers JSON
/// floats, NaN and infinities `null` (what `JSON.stringify` writes).
pub(super) fn number_value(f: f64) -> Value {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
        Value::from(f as i64)
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn to_number_follows_ecmascript() {
        let cases = [
            (json!(null), 0.0),
            (json!(true), 1.0),
            (json!(""), 0.0),
            (json!("  12 \n"), 12.0),
            (json!("1e3"), 1000.0),
            (json!(".5"), 0.5),
            (json!("5."), 5.0),
            (json!("-0x10"), f64::NAN),
            (json!("0x10"), 16.0),
            (json!("0b101"), 5.0),
            (json!("-Infinity"), f64::NEG_INFINITY),
            (json!("inf"), f64::NAN),
            (json!("12px"), f64::NAN),
            (json!([]), 0.0),
            (json!([7]), 7.0),
            (json!([1, 2]), f64::NAN),
            (json!({}), f64::NAN),
        ];
        for (v, expect) in cases {
            let got = to_number(&v);
            assert!(
                got == expect || (got.is_nan() && expect.is_nan()),
                "{v}: {got}"
            );
        }
    }

    #[test]
    fn parse_float_takes_the_longest_decimal_prefix() {
        let cases = [
            ("12px", 12.0),
            ("  -3.5e2x", -350.0),
            ("1e", 1.0),
            ("1.e5", 100000.0),
            (".5.5", 0.5),
            ("-Infinityx", f64::NEG_INFINITY),
        ];
        for (s, expect) in cases {
            assert_eq!(parse_float(&json!(s)), expect, "{s}");
        }
        for v in [
            json!(""),
            json!("."),
            json!("x1"),
            json!(null),
            json!(true),
            json!([]),
        ] {
            assert!(parse_float(&v).is_nan(), "{v}");
        }
        assert_eq!(parse_float(&json!([3, 4])), 3.0);
    }

    #[test]
    fn numbers_print_like_javascript() {
        let cases = [
            (1.0, "1"),
            (0.5, "0.5"),
            (-0.0, "0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (1e-6, "0.000001"),
            (f64::INFINITY, "Infinity"),
        ];
        for (f, s) in cases {
            assert_eq!(f64_to_js_string(f), s);
        }
        assert_eq!(to_js_string(&json!(u64::MAX)), "18446744073709552000");
        assert_eq!(to_js_string(&json!(-42)), "-42");
        assert_eq!(to_js_string(&json!([1, null, [2, [3]], "a"])), "1,,2,3,a");
        assert_eq!(to_js_string(&json!({"a": 1})), "[object Object]");
    }

    #[test]
    fn loose_equality_follows_ecmascript() {
        let equal = [
            (json!(1), json!("1")),
            (json!(0), json!("")),
            (json!(true), json!("1")),
            (json!(false), json!([])),
            (json!(1), json!([1])),
            (json!("a,b"), json!(["a", "b"])),
            (json!(null), json!(null)),
            (json!(1), json!(1.0)),
        ];
        let unequal = [
            (json!(null), json!(0)),
            (json!(null), json!(false)),
            (json!("true"), json!(true)),
            (json!([1]), json!([1])),
            (json!({}), json!({})),
            (json!("abc"), json!(0)),
        ];
        for (a, b) in equal {
            assert!(loose_eq(&a, &b) && loose_eq(&b, &a), "{a} == {b}");
        }
        for (a, b) in unequal {
            assert!(!loose_eq(&a, &b) && !loose_eq(&b, &a), "{a} != {b}");
        }
        assert!(strict_eq(&json!(1), &json!(1.0)));
        assert!(!strict_eq(&json!(1), &json!("1")));
        assert!(!strict_eq(&json!([]), &json!([])));
    }

    #[test]
    fn comparison_is_by_string_or_by_number() {
        assert_eq!(compare(&json!("10"), &json!("9")), Some(Ordering::Less));
        assert_eq!(compare(&json!("10"), &json!(9)), Some(Ordering::Greater));
        assert_eq!(compare(&json!(null), &json!(1)), Some(Ordering::Less));
        assert_eq!(compare(&json!("a"), &json!(1)), None);
        assert_eq!(compare(&json!([2]), &json!(10)), Some(Ordering::Less));
        // UTF-16 order: U+FF61 sorts after the surrogate pair of U+1F600.
        assert_eq!(
            compare(&json!("\u{ff61}"), &json!("\u{1f600}")),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn whole_doubles_become_integers() {
        assert_eq!(number_value(3.0), json!(3));
        assert_eq!(number_value(-0.0), json!(0));
        assert_eq!(number_value(0.5), json!(0.5));
        assert_eq!(number_value(1e300), json!(1e300));
        assert_eq!(number_value(f64::NAN), Value::Null);
        assert_eq!(number_value(f64::INFINITY), Value::Null);
    }
}
