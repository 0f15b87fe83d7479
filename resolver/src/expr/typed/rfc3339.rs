//! A small, strict RFC 3339 `date-time` parser for context values such as
//! `"2025-03-01T12:00:00Z"` or `"2025-03-01T13:00:00.250+01:00"`.
//!
//! Grammar (RFC 3339 §5.6): `YYYY-MM-DD` `T` `HH:MM:SS` [`.` fraction]
//! (`Z` | `+HH:MM` | `-HH:MM`); `T` and `Z` may be lowercase (§5.6 note).
//! Dates are checked against the proleptic Gregorian calendar (Feb 29 only
//! in leap years); a leap second (`:60`) is accepted and counts as the first
//! second of the next minute, because Unix time has no leap seconds.
//!
//! The resolver keeps this dependency-free; the builder parses the
//! timestamps written in rules with the `time` crate, and its tests check
//! that both agree.

/// Parses an RFC 3339 date-time into Unix time: whole seconds and the
/// fraction of a second in nanoseconds (`0..1_000_000_000`, digits past the
/// ninth are dropped). `None` when the text is not a valid RFC 3339 date-time.
pub fn parse(text: &str) -> Option<(i64, u32)> {
    let [y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T' | b't', h1, h2, b':', mi1, mi2, b':', s1, s2, rest @ ..] =
        text.as_bytes()
    else {
        return None;
    };
    let year = digits(&[*y1, *y2, *y3, *y4])?;
    let month = digits(&[*mo1, *mo2])?;
    let day = digits(&[*d1, *d2])?;
    let hour = digits(&[*h1, *h2])?;
    let minute = digits(&[*mi1, *mi2])?;
    let second = digits(&[*s1, *s2])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = rest;
    let mut nanos = 0u32;
    if let Some((b'.', frac)) = rest.split_first() {
        let len = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        for i in 0..9 {
            let d = frac.get(i).filter(|_| i < len).map_or(0, |c| c - b'0');
            nanos = nanos * 10 + u32::from(d);
        }
        rest = frac.get(len..)?;
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' {
                -minutes * 60
            } else {
                minutes * 60
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some((local - offset, nanos))
}

/// ASCII decimal digits to a number; `None` for any other byte.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date: Howard Hinnant's
/// `days_from_civil` ("chrono-Compatible Low-Level Date Algorithms"), which
/// counts from a 400-year era starting on March 1 so February comes last.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn known_instants() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some((0, 0)));
        // 2000-03-01 is 11017 days after the epoch (2000 is a leap year).
        assert_eq!(parse("2000-03-01T00:00:00Z"), Some((11_017 * 86_400, 0)));
        assert_eq!(parse("2024-02-29T12:30:15z"), Some((1_709_209_815, 0)));
        assert_eq!(parse("1969-12-31T23:59:59Z"), Some((-1, 0)));
        assert_eq!(parse("0000-01-01T00:00:00Z"), Some((-62_167_219_200, 0)));
    }

    #[test]
    fn offsets_and_fractions() {
        assert_eq!(parse("1970-01-01T01:00:00+01:00"), Some((0, 0)));
        assert_eq!(parse("1969-12-31T19:00:00-05:00"), Some((0, 0)));
        assert_eq!(parse("1970-01-01T00:00:01.5Z"), Some((1, 500_000_000)));
        assert_eq!(
            parse("1970-01-01T00:00:00.1234567891Z"),
            Some((0, 123_456_789))
        );
        assert_eq!(parse("1970-01-01T00:00:60Z"), Some((60, 0)));
    }

    #[test]
    fn rejects_what_rfc_3339_does_not_allow() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01",
            "+2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00Zjunk",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
