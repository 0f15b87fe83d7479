//! Semantic versions: parsing, precedence and the comparisons of flagd's
//! `sem_ver` operator. Public API, shared by `sem_ver` (JsonLogic) and the
//! typed semver test of Vane conditions, so both read versions one way.
//!
//! The grammar is SemVer 2.0.0 (<https://semver.org>) with the leniencies of
//! flagd core, which reads versions through Go's `golang.org/x/mod/semver`
//! after adding a `v` prefix:
//!
//! - one optional leading `v` or `V` (`v1.2.3`, `V1.2.3`);
//! - shortened versions `1` and `1.2` mean `1.0.0` and `1.2.0`; they cannot
//!   carry a prerelease or build suffix (`1.2-beta` is invalid);
//! - numbers are decimal without leading zeros (`01.0.0` is invalid) and must
//!   fit in 64 bits (Go accepts larger ones; no real version needs them);
//! - more than three numbers (`2.0.0.0`) is invalid;
//! - build metadata (`+build.5`) is checked and then ignored: it takes no
//!   part in precedence, so `1.0.0+a` equals `1.0.0+b`.
//!
//! Precedence is SemVer 2.0.0 §11: major, minor, patch numerically; a
//! version with a prerelease is lower than the same version without; two
//! prereleases compare identifier by identifier (numeric identifiers
//! numerically and below alphanumeric ones, alphanumeric ones in ASCII
//! order, a shorter list of equal identifiers first).
//!
//! Parsing borrows the prerelease from the input and never allocates, so a
//! comparison costs two short scans.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A parsed semantic version. Equality and order are SemVer precedence
/// (build metadata is not kept, so it cannot take part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version<'a> {
    /// Major version.
    pub major: u64,
    /// Minor version (`0` when the text omits it).
    pub minor: u64,
    /// Patch version (`0` when the text omits it).
    pub patch: u64,
    /// Dot-separated prerelease identifiers without the leading `-`
    /// (`"rc.1"`); empty for a release.
    pub pre: &'a str,
}

/// Why a text is not a semantic version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemVerError {
    /// Nothing (or only the `v` prefix) was given.
    Empty,
    /// The named part (`major`, `minor`, `patch`) is empty or not decimal digits.
    NotANumber(&'static str),
    /// The named part has a leading zero (`01`).
    LeadingZero(&'static str),
    /// The named part does not fit in 64 bits.
    TooLarge(&'static str),
    /// More than three dot-separated numbers (`2.0.0.0`).
    TooManyParts,
    /// A shortened version (`1`, `1.2`) with a prerelease or build suffix.
    SuffixOnShortVersion,
    /// The prerelease is not dot-separated non-empty identifiers of
    /// `[0-9A-Za-z-]`, numeric ones without leading zeros.
    BadPrerelease,
    /// The build metadata is not dot-separated non-empty identifiers of `[0-9A-Za-z-]`.
    BadBuild,
}

impl fmt::Display for SemVerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SemVerError::Empty => write!(f, "the version is empty"),
            SemVerError::NotANumber(part) => {
                write!(f, "the {part} version is not a decimal number")
            }
            SemVerError::LeadingZero(part) => write!(f, "the {part} version has a leading zero"),
            SemVerError::TooLarge(part) => write!(f, "the {part} version does not fit in 64 bits"),
            SemVerError::TooManyParts => {
                write!(f, "a version has at most three numbers (major.minor.patch)")
            }
            SemVerError::SuffixOnShortVersion => write!(
                f,
                "a shortened version (\"1\" or \"1.2\") cannot have a prerelease or build suffix"
            ),
            SemVerError::BadPrerelease => write!(
                f,
                "the prerelease must be dot-separated identifiers of 0-9, A-Z, a-z and '-', numeric ones without leading zeros"
            ),
            SemVerError::BadBuild => write!(
                f,
                "the build metadata must be dot-separated identifiers of 0-9, A-Z, a-z and '-'"
            ),
        }
    }
}

impl std::error::Error for SemVerError {}

impl<'a> Version<'a> {
    /// Parses `text` with the leniencies described in the [module docs](self).
    ///
    /// Errors: a [`SemVerError`] naming the first problem found.
    pub fn parse(text: &'a str) -> Result<Version<'a>, SemVerError> {
        // One left-to-right scan over the bytes; a plain release returns
        // as soon as its last digit is read.
        let b = text.as_bytes();
        let mut i = usize::from(matches!(b.first(), Some(b'v' | b'V')));
        if i == b.len() {
            return Err(SemVerError::Empty);
        }
        let major = number(b, &mut i, "major")?;
        let (mut minor, mut patch, mut full) = (0, 0, false);
        if b.get(i) == Some(&b'.') {
            i += 1;
            minor = number(b, &mut i, "minor")?;
            if b.get(i) == Some(&b'.') {
                i += 1;
                patch = number(b, &mut i, "patch")?;
                full = true;
            }
        }
        let mut version = Version {
            major,
            minor,
            patch,
            pre: "",
        };
        // `number` stops only at the end, '.', '-' or '+'.
        let suffix = match b.get(i) {
            None => return Ok(version),
            Some(b'.') => return Err(SemVerError::TooManyParts),
            Some(_) if !full => return Err(SemVerError::SuffixOnShortVersion),
            Some(_) => &text[i..],
        };
        let (pre, build) = match suffix.strip_prefix('-') {
            Some(rest) => match rest.split_once('+') {
                Some((pre, build)) => (Some(pre), Some(build)),
                None => (Some(rest), None),
            },
            None => (None, suffix.strip_prefix('+')),
        };
        if pre.is_some_and(|pre| !identifiers(pre, true)) {
            return Err(SemVerError::BadPrerelease);
        }
        if build.is_some_and(|build| !identifiers(build, false)) {
            return Err(SemVerError::BadBuild);
        }
        version.pre = pre.unwrap_or("");
        Ok(version)
    }

    /// True when both versions have the same major version (flagd's `^`).
    pub fn same_major(&self, other: &Version<'_>) -> bool {
        self.major == other.major
    }

    /// True when both versions have the same major and minor version
    /// (flagd's `~`).
    pub fn same_minor(&self, other: &Version<'_>) -> bool {
        self.major == other.major && self.minor == other.minor
    }
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_prerelease(self.pre, other.pre))
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A comparison of flagd's `sem_ver` operator, by its flagd spelling (also
/// its spelling in a snapshot, [`crate::expr::Test::FlagdSemVer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SemVerOp {
    /// `=`: equal precedence.
    #[serde(rename = "=")]
    Eq,
    /// `!=`: different precedence.
    #[serde(rename = "!=")]
    Ne,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `^`: same major version (flagd core compares majors only; no `>=`).
    #[serde(rename = "^")]
    Caret,
    /// `~`: same major and minor version (flagd core compares them only; no `>=`).
    #[serde(rename = "~")]
    Tilde,
}

impl SemVerOp {
    /// The operator spelled `text` (`=`, `!=`, `<`, `<=`, `>`, `>=`, `^`,
    /// `~`); `None` for anything else (`==` included, as in flagd).
    pub fn parse(text: &str) -> Option<SemVerOp> {
        Some(match text {
            "=" => SemVerOp::Eq,
            "!=" => SemVerOp::Ne,
            "<" => SemVerOp::Lt,
            "<=" => SemVerOp::Le,
            ">" => SemVerOp::Gt,
            ">=" => SemVerOp::Ge,
            "^" => SemVerOp::Caret,
            "~" => SemVerOp::Tilde,
            _ => return None,
        })
    }

    /// The operator with its sides swapped: `a <op> b` holds exactly when
    /// `b <op.swapped()> a` does (`<` and `>` trade places; the others are
    /// symmetric).
    pub fn swapped(self) -> SemVerOp {
        match self {
            SemVerOp::Lt => SemVerOp::Gt,
            SemVerOp::Le => SemVerOp::Ge,
            SemVerOp::Gt => SemVerOp::Lt,
            SemVerOp::Ge => SemVerOp::Le,
            other => other,
        }
    }

    /// Whether `lhs <op> rhs` holds.
    pub fn holds(self, lhs: &Version<'_>, rhs: &Version<'_>) -> bool {
        match self {
            SemVerOp::Eq => lhs == rhs,
            SemVerOp::Ne => lhs != rhs,
            SemVerOp::Lt => lhs < rhs,
            SemVerOp::Le => lhs <= rhs,
            SemVerOp::Gt => lhs > rhs,
            SemVerOp::Ge => lhs >= rhs,
            SemVerOp::Caret => lhs.same_major(rhs),
            SemVerOp::Tilde => lhs.same_minor(rhs),
        }
    }
}

/// The major, minor or patch number at byte `*i`: decimal digits followed
/// by the end, `.`, `-` or `+`, without a leading zero, fitting in `u64`.
/// Advances `*i` past the digits.
fn number(b: &[u8], i: &mut usize, part: &'static str) -> Result<u64, SemVerError> {
    let start = *i;
    let mut value = 0u64;
    let mut overflow = false;
    while let Some(digit) = b.get(*i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        *i += 1;
    }
    let digits = *i - start;
    if digits == 0 || !matches!(b.get(*i), None | Some(b'.' | b'-' | b'+')) {
        Err(SemVerError::NotANumber(part))
    } else if digits > 1 && b.get(start) == Some(&b'0') {
        Err(SemVerError::LeadingZero(part))
    } else if overflow {
        Err(SemVerError::TooLarge(part))
    } else {
        Ok(value)
    }
}

/// Dot-separated non-empty identifiers of `[0-9A-Za-z-]`; with
/// `numeric_canonical`, all-digit identifiers may not have a leading zero.
/// One pass over the bytes.
fn identifiers(text: &str, numeric_canonical: bool) -> bool {
    let (mut len, mut numeric, mut leading_zero) = (0usize, true, false);
    for &c in text.as_bytes().iter().chain([b'.'].iter()) {
        if c == b'.' {
            if len == 0 || (numeric_canonical && numeric && leading_zero && len > 1) {
                return false;
            }
            (len, numeric, leading_zero) = (0, true, false);
        } else if c.is_ascii_alphanumeric() || c == b'-' {
            if len == 0 {
                leading_zero = c == b'0';
            }
            numeric &= c.is_ascii_digit();
            len += 1;
        } else {
            return false;
        }
    }
    true
}

fn is_numeric(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_digit())
}

/// SemVer 2.0.0 §11.3–11.4: no prerelease ranks above any prerelease.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (is_numeric(x), is_numeric(y)) {
                    // Canonical numerals: the longer is larger, equal lengths compare by digits.
                    (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version<'_> {
        Version::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_full_short_and_prefixed_versions() {
        assert_eq!(
            v("1.2.3-rc.1+build.7"),
            Version {
                major: 1,
                minor: 2,
                patch: 3,
                pre: "rc.1"
            }
        );
        assert_eq!(v("v1.0.0"), v("1.0.0"));
        assert_eq!(v("V1.0.0"), v("1.0.0"));
        assert_eq!(v("1"), v("1.0.0"));
        assert_eq!(v("1.2"), v("1.2.0"));
        assert_eq!(v("1.0.0-a-b+c-d").pre, "a-b");
        assert_eq!(v("0.0.0").major, 0);
        assert_eq!(v("18446744073709551615.0.0").major, u64::MAX);
    }

    #[test]
    fn refuses_what_go_x_mod_semver_refuses() {
        let cases = [
            ("", SemVerError::Empty),
            ("v", SemVerError::Empty),
            ("vv1.0.0", SemVerError::NotANumber("major")),
            ("2.0.0.0", SemVerError::TooManyParts),
            ("1..0", SemVerError::NotANumber("minor")),
            ("1.0.", SemVerError::NotANumber("patch")),
            ("01.0.0", SemVerError::LeadingZero("major")),
            ("1.00.0", SemVerError::LeadingZero("minor")),
            ("not-a-version", SemVerError::NotANumber("major")),
            (" 1.0.0", SemVerError::NotANumber("major")),
            ("1.2-beta", SemVerError::SuffixOnShortVersion),
            ("1+build", SemVerError::SuffixOnShortVersion),
            ("1.0.0-", SemVerError::BadPrerelease),
            ("1.0.0-a..b", SemVerError::BadPrerelease),
            ("1.0.0-01", SemVerError::BadPrerelease),
            ("1.0.0-a_b", SemVerError::BadPrerelease),
            ("1.0.0+", SemVerError::BadBuild),
            ("1.0.0+a+b", SemVerError::BadBuild),
            ("18446744073709551616.0.0", SemVerError::TooLarge("major")),
        ];
        for (text, error) in cases {
            assert_eq!(Version::parse(text), Err(error), "{text:?}");
        }
        // Leading zeros are fine in build metadata and in alphanumeric prerelease identifiers.
        assert!(Version::parse("1.0.0-0a+007").is_ok());
    }

    #[test]
    fn precedence_follows_semver_2_section_11() {
        // The example chain of semver.org §11.4.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
            "10.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(v(pair[0]).cmp(&v(pair[1])), Ordering::Less, "{pair:?}");
            assert_eq!(v(pair[1]).cmp(&v(pair[0])), Ordering::Greater, "{pair:?}");
        }
        assert_eq!(v("1.0.0+a").cmp(&v("1.0.0+b")), Ordering::Equal);
        assert_eq!(v("1.0.0-99").cmp(&v("1.0.0-100")), Ordering::Less);
    }

    #[test]
    fn operators_as_flagd_spells_them() {
        let ops = ["=", "!=", "<", "<=", ">", ">=", "^", "~"];
        let holds = |lhs: &str, rhs: &str| -> Vec<bool> {
            ops.iter()
                .map(|o| SemVerOp::parse(o).unwrap().holds(&v(lhs), &v(rhs)))
                .collect()
        };
        //                                    =      !=     <      <=     >      >=     ^      ~
        assert_eq!(
            holds("2.0.0", "2.0.0"),
            [true, false, false, true, false, true, true, true]
        );
        assert_eq!(
            holds("2.1.0", "2.0.0"),
            [false, true, false, false, true, true, true, false]
        );
        assert_eq!(
            holds("1.9.0", "2.0.0"),
            [false, true, true, true, false, false, false, false]
        );
        // ^ and ~ compare only the major (and minor) version, whichever side is larger.
        assert_eq!(
            holds("3.0.0", "3.4.5"),
            [false, true, true, true, false, false, true, false]
        );
        assert_eq!(
            holds("3.4.0-rc.1", "3.4.5"),
            [false, true, true, true, false, false, true, true]
        );
        for bad in ["==", "===", "", "=>", "~>"] {
            assert_eq!(SemVerOp::parse(bad), None, "{bad:?}");
        }
    }
}
