//! Timestamps written in rules: RFC 3339 date-times (parsed by the `time`
//! crate) or whole Unix seconds, stored in the snapshot as Unix seconds.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::reader::{describe, scalar};
use super::yaml::{Node, Typed};

/// Reads a timestamp: an integer (Unix seconds) or an RFC 3339 date-time
/// such as `2025-06-01T00:00:00Z` with whole seconds.
///
/// Errors: a message saying what is malformed, for the caller to locate.
pub fn parse(node: &Node) -> Result<i64, String> {
    let Some(s) = scalar(node) else {
        return Err(format!(
            "malformed timestamp: expected an RFC 3339 date-time or Unix seconds, found {}",
            describe(node)
        ));
    };
    match s.typed() {
        Typed::Number(n) => n.as_i64().ok_or_else(|| {
            let whole = n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0);
            let why = if whole {
                "Unix seconds must fit in 64 bits (-9223372036854775808 to 9223372036854775807)"
            } else {
                "Unix seconds must be a whole number"
            };
            format!("malformed timestamp '{}': {why}", s.text)
        }),
        Typed::String => {
            let t = OffsetDateTime::parse(&s.text, &Rfc3339).map_err(|e| {
                format!(
                    "malformed timestamp '{}': {e}; expected RFC 3339 like 2025-06-01T09:00:00Z",
                    s.text
                )
            })?;
            // `time` reads a leap second (`:60`) as 59.999999999 s.
            if s.text.get(17..19) == Some("60") {
                return Err(format!(
                    "malformed timestamp '{}': a leap second (:60) names no single Unix second; \
                     write :59 or the next minute's :00",
                    s.text
                ));
            }
            if t.nanosecond() != 0 {
                return Err(format!(
                    "malformed timestamp '{}': rules use whole seconds, drop the fraction",
                    s.text
                ));
            }
            Ok(t.unix_timestamp())
        }
        _ => Err(format!(
            "malformed timestamp: expected an RFC 3339 date-time or Unix seconds, found {}",
            describe(node)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vane::yaml::{Kind, Pos, Scalar};
    use vane_resolver::expr::typed::parse_rfc3339;

    fn plain(text: &str) -> Node {
        Node {
            kind: Kind::Scalar(Scalar {
                text: text.to_owned(),
                plain: true,
            }),
            pos: Pos { line: 1, column: 1 },
        }
    }

    #[test]
    fn reads_rfc3339_and_unix_seconds() {
        assert_eq!(parse(&plain("2025-06-01T00:00:00Z")), Ok(1_748_736_000));
        assert_eq!(
            parse(&plain("2025-06-01T02:00:00+02:00")),
            Ok(1_748_736_000)
        );
        assert_eq!(parse(&plain("1748736000")), Ok(1_748_736_000));
        assert_eq!(parse(&plain("-5")), Ok(-5));
        for bad in [
            "2025-06-01",
            "2025-06-01T00:00:00.5Z",
            "1.5",
            "true",
            "soon",
        ] {
            assert!(
                parse(&plain(bad))
                    .unwrap_err()
                    .starts_with("malformed timestamp"),
                "{bad}"
            );
        }
    }

    #[test]
    fn messages_say_what_is_wrong() {
        assert_eq!(
            parse(&plain("2016-12-31T23:59:60Z")),
            Err(
                "malformed timestamp '2016-12-31T23:59:60Z': a leap second (:60) names no \
                 single Unix second; write :59 or the next minute's :00"
                    .to_owned()
            )
        );
        assert_eq!(
            parse(&plain("99999999999999999999")),
            Err(
                "malformed timestamp '99999999999999999999': Unix seconds must fit in 64 bits \
                 (-9223372036854775808 to 9223372036854775807)"
                    .to_owned()
            )
        );
        assert_eq!(
            parse(&plain("9223372036854775808")),
            Err(
                "malformed timestamp '9223372036854775808': Unix seconds must fit in 64 bits \
                 (-9223372036854775808 to 9223372036854775807)"
                    .to_owned()
            )
        );
        assert_eq!(
            parse(&plain("1.5")),
            Err("malformed timestamp '1.5': Unix seconds must be a whole number".to_owned())
        );
        assert_eq!(
            parse(&plain("2025-01-01T00:00:00.25Z")),
            Err("malformed timestamp '2025-01-01T00:00:00.25Z': rules use whole seconds, drop the fraction".to_owned())
        );
    }

    /// The resolver parses RFC 3339 context values with its own small parser;
    /// it must agree with the `time` crate on every instant the builder accepts.
    #[test]
    fn resolver_parser_agrees_with_time() {
        let mut checked = 0;
        for year in [1, 999, 1900, 1969, 1970, 2000, 2024, 2100, 9999] {
            for month in 1..=12u32 {
                for day in [1u32, 28, 29, 30, 31] {
                    for (time, offset) in [
                        ("00:00:00", "Z"),
                        ("23:59:59", "-11:30"),
                        ("12:34:56", "+05:45"),
                    ] {
                        let text = format!("{year:04}-{month:02}-{day:02}T{time}{offset}");
                        let ours = parse_rfc3339(&text).map(|(s, _)| s);
                        let theirs = OffsetDateTime::parse(&text, &Rfc3339)
                            .ok()
                            .map(|t| t.unix_timestamp());
                        assert_eq!(ours, theirs, "{text}");
                        checked += usize::from(ours.is_some());
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
