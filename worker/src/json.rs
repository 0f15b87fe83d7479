//! JSON text written straight into a `String`, for the few shapes the
//! request path writes on every answer (the log line, the exposure event):
//! the same bytes `serde_json` writes for them (its string escapes, its
//! number forms), without the serializer's generic machinery per request.
//! Everything else is written with `serde_json`.

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it:
/// `"` and `\` with a backslash, `\b \t \n \f \r` by name, other control
/// characters (U+0000–U+001F) as `\u00xx` (lowercase hex); everything else,
/// non-ASCII included, as it is (RFC 8259 section 7).
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both ranges end on char boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            let hex = |n: u8| char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 });
            out.push_str("\\u00");
            out.push(hex(b >> 4));
            out.push(hex(b & 0xf));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// Appends `s` as a JSON string, or `null` for `None`.
pub fn opt_string(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.push_str("null"),
    }
}

/// Appends an unsigned integer in decimal.
pub fn uint(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends an `f64` as `serde_json` writes it: the shortest form that reads
/// back as the same number (`1.5`, `0.0`, `1e+21`), `null` when it is not
/// finite.
pub fn float(out: &mut String, x: f64) {
    if x.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(x));
    } else {
        out.push_str("null");
    }
}

/// Appends `"name":`, the start of an object member (`name` needs no
/// escapes: the writers here pass literal member names).
pub fn key(out: &mut String, name: &str) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut String)) -> String {
        let mut out = String::new();
        f(&mut out);
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = [
            "",
            "plain",
            "a \"quoted\" \\ back\\slash",
            "line\nbreak\ttab\rreturn\u{8}bell\u{c}feed",
            "nul\u{0} unit\u{1f} del\u{7f}",
            "é ü ß 日本 🦀 \u{2028}\u{2029}",
            "/slash/ <html> &amp;",
            "\"",
            "\\",
            "\u{1}",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Every character up to U+00FF alone and between text.
        cases.extend(
            (0u32..=0xff)
                .filter_map(char::from_u32)
                .map(|c| format!("a{c}b{c}")),
        );
        for s in &cases {
            assert_eq!(
                written(|o| string(o, s)),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
        assert_eq!(written(|o| string(o, "\u{1}")), "\"\\u0001\"");
        assert_eq!(written(|o| opt_string(o, None)), "null");
        assert_eq!(written(|o| opt_string(o, Some("x"))), "\"x\"");
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        for n in [0, 1, 9, 10, 99, 12_345, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(written(|o| uint(o, n)), serde_json::to_string(&n).unwrap());
        }
        for x in [
            0.0,
            -0.0,
            1.5,
            0.1,
            1.0 / 3.0,
            1e-7,
            123_456_789.125,
            1e21,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(
                written(|o| float(o, x)),
                serde_json::to_string(&x).unwrap(),
                "{x}"
            );
        }
        assert_eq!(written(|o| float(o, 2.0)), "2.0");
        assert_eq!(written(|o| float(o, f64::NAN)), "null");
    }
}
