//! UTC calendar arithmetic for event timestamps and R2 partition keys,
//! without a date library: Unix milliseconds to RFC 3339 text
//! (`2026-12-01T09:30:00.123Z`) and to the `date=`/`hour=` partition values.
//!
//! The day-to-date conversion is the proleptic Gregorian "civil from days"
//! algorithm (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"),
//! valid for every date from 1970 on.

/// A UTC calendar time split into fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
    /// Millisecond, 0–999.
    pub milli: u32,
}

impl Utc {
    /// The calendar fields of `ms` milliseconds after the Unix epoch.
    pub fn from_unix_ms(ms: u64) -> Utc {
        let days = (ms / 86_400_000) as i64;
        let in_day = ms % 86_400_000;
        // Shift the epoch to 0000-03-01 so leap days end each 400-year era.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Utc {
            year,
            month,
            day,
            hour: (in_day / 3_600_000) as u32,
            minute: (in_day / 60_000 % 60) as u32,
            second: (in_day / 1_000 % 60) as u32,
            milli: (in_day % 1_000) as u32,
        }
    }

    /// RFC 3339 with milliseconds and `Z`: `2026-12-01T09:30:00.123Z`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{}T{:02}:{:02}:{:02}.{:03}Z",
            self.date(),
            self.hour,
            self.minute,
            self.second,
            self.milli
        )
    }

    /// The `date=` partition value: `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Unix milliseconds of an RFC 3339 UTC time as [`Utc::rfc3339`] writes it,
/// or of a bare date `YYYY-MM-DD` (its midnight); `None` for anything else.
/// Used for the summary's `from`/`to` bounds.
pub fn parse_unix_ms(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let at = |i: usize| b.get(i).copied();
    if b.len() < 10 || at(4) != Some(b'-') || at(7) != Some(b'-') {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    let (mut hh, mut mm, mut ss, mut ms) = (0, 0, 0, 0);
    if b.len() > 10 {
        let rest = text.get(10..)?;
        if !rest.starts_with('T') || !rest.ends_with('Z') || rest.len() < 10 {
            return None;
        }
        hh = num(11..13)?;
        mm = num(14..16)?;
        ss = num(17..19)?;
        if at(13) != Some(b':') || at(16) != Some(b':') || hh > 23 || mm > 59 || ss > 59 {
            return None;
        }
        match rest.get(9..rest.len() - 1)? {
            "" => {}
            frac if frac.len() == 4 && frac.starts_with('.') => ms = num(20..23)?,
            _ => return None,
        }
    }
    // Days from civil (the inverse of `from_unix_ms`).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let days_in_month = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        .get((m - 1) as usize)
        .copied()?;
    let leap = (y + i64::from(m <= 2)) % 4 == 0
        && ((y + i64::from(m <= 2)) % 100 != 0 || (y + i64::from(m <= 2)) % 400 == 0);
    if d > days_in_month + i64::from(m == 2 && leap) {
        return None;
    }
    Some((((days * 24 + hh) * 60 + mm) * 60 + ss) as u64 * 1000 + ms as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        // `date -u -d @0`, `@951782400` (2000-02-29, a leap day of a
        // 400-year leap year) and `@1796117400.123`.
        assert_eq!(Utc::from_unix_ms(0).rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Utc::from_unix_ms(951_782_400_000).rfc3339(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Utc::from_unix_ms(1_796_117_400_123).rfc3339(),
            "2026-12-01T09:30:00.123Z"
        );
        assert_eq!(
            Utc::from_unix_ms(4_107_542_399_999).rfc3339(),
            "2100-02-28T23:59:59.999Z"
        );
    }

    #[test]
    fn parse_inverts_format() {
        for ms in [
            0,
            951_782_400_000,
            1_796_117_400_123,
            4_107_542_399_999,
            1_709_164_800_000,
        ] {
            let text = Utc::from_unix_ms(ms).rfc3339();
            assert_eq!(parse_unix_ms(&text), Some(ms), "{text}");
        }
        assert_eq!(parse_unix_ms("2026-12-01"), Some(1_796_083_200_000));
        assert_eq!(
            parse_unix_ms("2026-12-01T09:30:00Z"),
            Some(1_796_117_400_000)
        );
        for bad in [
            "2026-13-01",
            "2026-02-29",
            "2100-02-29",
            "2026-12-01T24:00:00Z",
            "yesterday",
            "2026-12-01T09:30:00+01:00",
            "",
        ] {
            assert_eq!(parse_unix_ms(bad), None, "{bad}");
        }
        assert_eq!(parse_unix_ms("2024-02-29"), Some(1_709_164_800_000));
    }
}
